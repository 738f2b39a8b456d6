import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Each webhook delivery keeps the W3C `traceparent` of the request that caused its event, so
 * every attempt, retries and redeliveries included, joins that request's trace. Deliveries
 * queued before this column existed carry none ('').
 */
export class WebhookTraceparent1765152000000 implements MigrationInterface {
  name = 'WebhookTraceparent1765152000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'webhook_delivery',
      new TableColumn({ name: 'traceparent', type: 'varchar', length: '55', default: "''" }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('webhook_delivery', 'traceparent');
  }
}
