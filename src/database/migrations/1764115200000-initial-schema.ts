import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

const bigintTime = (name: string, nullable = false) => ({
  name,
  type: 'bigint',
  isNullable: nullable,
});
const id64 = (name: string) => ({ name, type: 'varchar', length: '64' });

/**
 * Written with TypeORM's Table API so one migration serves MySQL/MariaDB and SQLite. The one
 * difference: SQLite only auto-increments a column declared INTEGER (which is 64-bit there).
 */
export class InitialSchema1764115200000 implements MigrationInterface {
  name = 'InitialSchema1764115200000';

  async up(q: QueryRunner): Promise<void> {
    const serial = {
      name: 'id',
      type: q.connection.driver.options.type === 'better-sqlite3' ? 'integer' : 'bigint',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment' as const,
    };
    await q.createTable(
      new Table({
        name: 'live_room',
        columns: [
          { ...id64('live_id'), isPrimary: true },
          id64('app_id'),
          { name: 'title', type: 'varchar', length: '255' },
          { name: 'notice', type: 'varchar', length: '1024', default: "''" },
          { name: 'cover_url', type: 'varchar', length: '1024', default: "''" },
          { name: 'extends_json', type: 'text' },
          id64('anchor_id'),
          { name: 'live_status', type: 'integer' },
          { ...id64('pk_id'), default: "''" },
          bigintTime('start_at', true),
          bigintTime('end_at', true),
          bigintTime('heartbeat_at', true),
          bigintTime('created_at'),
          bigintTime('updated_at'),
        ],
        indices: [
          new TableIndex({
            name: 'idx_live_room_app_anchor',
            columnNames: ['app_id', 'anchor_id'],
          }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'relay_session',
        columns: [
          serial,
          id64('relay_id'),
          id64('app_id'),
          id64('init_user_id'),
          id64('init_room_id'),
          id64('recv_user_id'),
          id64('recv_room_id'),
          { name: 'status', type: 'integer' },
          { name: 'stop_reason', type: 'varchar', length: '32', default: "''" },
          { name: 'duration_s', type: 'integer', isNullable: true },
          { name: 'extends_json', type: 'text' },
          { name: 'version', type: 'integer' },
          bigintTime('start_at', true),
          bigintTime('stop_at', true),
          bigintTime('deadline_at', true),
          bigintTime('created_at'),
          bigintTime('updated_at'),
        ],
        indices: [
          new TableIndex({
            name: 'uq_relay_session_relay_id',
            columnNames: ['relay_id'],
            isUnique: true,
          }),
          new TableIndex({
            name: 'idx_relay_session_init',
            columnNames: ['app_id', 'init_user_id', 'id'],
          }),
          new TableIndex({
            name: 'idx_relay_session_recv',
            columnNames: ['app_id', 'recv_user_id', 'id'],
          }),
          new TableIndex({ name: 'idx_relay_session_deadline', columnNames: ['deadline_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'relay_event',
        columns: [
          serial,
          { name: 'type', type: 'varchar', length: '64' },
          id64('relay_id'),
          id64('app_id'),
          { name: 'seq', type: 'integer' },
          bigintTime('occurred_at'),
          { name: 'data', type: 'text' },
        ],
        indices: [
          new TableIndex({
            name: 'uq_relay_event_relay_seq',
            columnNames: ['relay_id', 'seq'],
            isUnique: true,
          }),
          new TableIndex({ name: 'idx_relay_event_app', columnNames: ['app_id', 'id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('relay_event');
    await q.dropTable('relay_session');
    await q.dropTable('live_room');
  }
}
