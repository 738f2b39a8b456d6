import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MIGRATIONS } from '../../src/app.schema';
import { startTestApp, TestApp } from '../utils/test-app';
import { schemaChanges } from '../utils/database';

const ROOT = join(__dirname, '..', '..');

// Either scheme may name a MySQL or MariaDB server, and each must read the schema the same.
const SCHEMES = /^(mysql|mariadb):\/\//.test(process.env.DATABASE_URL ?? '')
  ? ['mysql', 'mariadb']
  : ['sqlite'];

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
    const applied = await t.dataSource.query<{ name: string }[]>('SELECT * FROM migrations');
    expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it.each(SCHEMES)(
    'matches the entities exactly, read through a %s: URL (TypeORM finds nothing to change)',
    async (scheme) => {
      expect(await schemaChanges(t.databaseUrl.replace(/^\w+:/, `${scheme}:`))).toEqual([]);
    },
  );

  it('is up to date for `npm run typeorm -- schema:log`, as an operator checks it', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '-s', 'typeorm', '--', 'schema:log'],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: t.databaseUrl } },
    );
    expect(stdout).toContain('Your schema is up to date');
  }, 120_000);
});
