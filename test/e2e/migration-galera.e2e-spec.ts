/**
 * The migration GaleraSupport1765065600000: the migration lock's table, made on every database
 * (on a Galera node the lock has usually made it already, so `up` must accept it existing), and
 * taken away by `down`.
 */
import { GaleraSupport1765065600000 } from '../../src/database/migrations/1765065600000-galera-support';
import { startTestApp, TestApp } from '../utils/test-app';

describe('the Galera support migration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('has made migration_lock, and goes down and up again, also over a table already there', async () => {
    const runner = t.dataSource.createQueryRunner();
    const migration = new GaleraSupport1765065600000();
    try {
      expect(await runner.hasTable('migration_lock')).toBe(true);
      expect(await t.dataSource.query('SELECT * FROM migration_lock')).toEqual([]);
      await migration.down(runner);
      expect(await runner.hasTable('migration_lock')).toBe(false);
      await migration.up(runner);
      expect(await runner.hasTable('migration_lock')).toBe(true);
      await migration.up(runner);
      const table = await runner.getTable('migration_lock');
      expect(table?.columns.map((c) => c.name).sort()).toEqual(['expires_at', 'holder', 'name']);
      expect(table?.primaryColumns.map((c) => c.name)).toEqual(['name']);
    } finally {
      await runner.release();
    }
  });
});
