import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/**
 * The migration lock's row table (docs/operations.md, "Galera"). On a Galera cluster the lock
 * creates it before this runs, so it is made only where it is missing; on SQLite and single
 * primaries it exists so that every database has the same tables.
 */
export class GaleraSupport1765065600000 implements MigrationInterface {
  name = 'GaleraSupport1765065600000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'migration_lock',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '128' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('migration_lock', true);
  }
}
