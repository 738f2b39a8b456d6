import { DataSource, DataSourceOptions } from 'typeorm';
import { dataSourceOptions, MIGRATIONS } from '../../src/database/database.options';
import { startTestApp, TestApp } from '../utils/test-app';

describe('database schema', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('is created by the migrations, which leave nothing pending', async () => {
    expect(await t.dataSource.showMigrations()).toBe(false);
    const applied = (await t.dataSource.query('SELECT * FROM migrations')) as { name: string }[];
    expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('matches the entities exactly (no drift between migrations and entities)', async () => {
    const options = dataSourceOptions({ ...t.config, migrate: false });
    let inspect: DataSourceOptions = options;
    if (options.type !== 'better-sqlite3') {
      // TypeORM reads column defaults back correctly from MariaDB only when told it is MariaDB.
      const [{ v }] = (await t.dataSource.query('SELECT VERSION() AS v')) as { v: string }[];
      if (/mariadb/i.test(v)) inspect = { ...options, type: 'mariadb' } as DataSourceOptions;
    }
    const ds = await new DataSource(inspect).initialize();
    try {
      if (options.type === 'better-sqlite3') {
        // The one dialect difference: SQLite auto-increments only INTEGER (64-bit there) keys.
        for (const meta of ds.entityMetadatas) {
          for (const column of meta.primaryColumns)
            if (column.generationStrategy === 'increment') column.type = 'integer';
        }
      }
      const diff = await ds.driver.createSchemaBuilder().log();
      expect(diff.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });
});
