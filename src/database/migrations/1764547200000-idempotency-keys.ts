import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * The `Idempotency-Key`s of POST /client/relay/start, kept 24 hours. A relay's event history
 * (GET /client/relay/{relay_id}/events) needs no index of its own: it reads a range of
 * uq_relay_event_relay_seq (relay_id, seq).
 */
export class IdempotencyKeys1764547200000 implements MigrationInterface {
  name = 'IdempotencyKeys1764547200000';

  async up(q: QueryRunner): Promise<void> {
    const sqlite = q.connection.driver.options.type === 'better-sqlite3';
    await q.createTable(
      new Table({
        name: 'idempotency_key',
        columns: [
          {
            name: 'id',
            type: sqlite ? 'integer' : 'bigint',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'app_id', type: 'varchar', length: '64' },
          { name: 'user_id', type: 'varchar', length: '64' },
          { name: 'idem_key', type: 'varchar', length: '128' },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'http_status', type: 'integer' },
          { name: 'answer', type: 'text', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({
            name: 'uq_idempotency_key_scope',
            columnNames: ['app_id', 'user_id', 'idem_key'],
            isUnique: true,
          }),
          new TableIndex({ name: 'idx_idempotency_key_created', columnNames: ['created_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('idempotency_key');
  }
}
