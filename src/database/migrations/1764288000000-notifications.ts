import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

const PARTICIPANTS = ['init_user_id', 'recv_user_id', 'init_room_id', 'recv_room_id'];

/**
 * Webhook deliveries, and the session's anchors and rooms copied onto each event so streams
 * select their events from the log alone. Existing events are filled from their sessions.
 */
export class Notifications1764288000000 implements MigrationInterface {
  name = 'Notifications1764288000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns(
      'relay_event',
      PARTICIPANTS.map(
        (name) => new TableColumn({ name, type: 'varchar', length: '64', default: "''" }),
      ),
    );
    for (const column of PARTICIPANTS) {
      await q.query(
        `UPDATE relay_event SET ${column} = COALESCE((SELECT s.${column} FROM relay_session s ` +
          `WHERE s.relay_id = relay_event.relay_id), '')`,
      );
    }
    const sqlite = q.connection.driver.options.type === 'better-sqlite3';
    await q.createTable(
      new Table({
        name: 'webhook_delivery',
        columns: [
          {
            name: 'id',
            type: sqlite ? 'integer' : 'bigint',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'event_id', type: 'bigint' },
          { name: 'url', type: 'varchar', length: '512' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer' },
          { name: 'next_attempt_at', type: 'bigint' },
          { name: 'last_error', type: 'varchar', length: '1024', default: "''" },
          { name: 'delivered_at', type: 'bigint', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({
            name: 'uq_webhook_delivery_event_url',
            columnNames: ['event_id', 'url'],
            isUnique: true,
          }),
          new TableIndex({
            name: 'idx_webhook_delivery_due',
            columnNames: ['status', 'next_attempt_at'],
          }),
          new TableIndex({ name: 'idx_webhook_delivery_status', columnNames: ['status', 'id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('webhook_delivery');
    for (const name of PARTICIPANTS) await q.dropColumn('relay_event', name);
  }
}
