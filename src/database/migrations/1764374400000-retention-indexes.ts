import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * What background work scans, so it reads a range of an index rather than the whole table: the
 * retention job looks for the oldest events, and the `relays_active` gauge counts unfinished
 * relays (status below 5) at every scrape.
 */
export class RetentionIndexes1764374400000 implements MigrationInterface {
  name = 'RetentionIndexes1764374400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'relay_event',
      new TableIndex({ name: 'idx_relay_event_occurred', columnNames: ['occurred_at'] }),
    );
    await q.createIndex(
      'relay_session',
      new TableIndex({ name: 'idx_relay_session_status', columnNames: ['status'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('relay_session', 'idx_relay_session_status');
    await q.dropIndex('relay_event', 'idx_relay_event_occurred');
  }
}
