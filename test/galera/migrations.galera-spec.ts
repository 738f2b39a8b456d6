/**
 * Service nodes started together on an empty Galera database, each on a different database
 * node: the migrations run once (under the lock row, which Galera replicates, unlike GET_LOCK)
 * and every node comes up, round after round (GALERA_ROUNDS, 3 by default).
 */
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app.config';
import { dataSourceOptions, MIGRATIONS } from '../../src/app.schema';
import { runTypeScript, Spawned } from '../utils/spawned-process';
import { DB_NODES, freshGaleraDatabase, urlOn } from './cluster';

const ROUNDS = Number(process.env.GALERA_ROUNDS ?? 3);

interface Started {
  node: Spawned;
  failure?: string;
}

async function startTogether(database: string): Promise<Started[]> {
  const nodes = Array.from({ length: DB_NODES }, (_, i) =>
    runTypeScript('src/main.ts', [], { env: { PORT: '0', DATABASE_URL: urlOn(i, database) } }),
  );
  return Promise.all(
    nodes.map(async (node): Promise<Started> => {
      try {
        const port = Number((await node.waitFor(/listening on port (\d+)/, 150_000))[1]);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        return ready.status === 200 ? { node } : { node, failure: `/readyz ${ready.status}` };
      } catch (error) {
        return { node, failure: `${String(error)}\n${node.output().slice(-2000)}` };
      }
    }),
  );
}

async function applied(url: string): Promise<string[]> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, DB_MIGRATE: 'false' });
  const dataSource = await new DataSource(await dataSourceOptions(config)).initialize();
  try {
    const rows = await dataSource.query<{ name: string }[]>('SELECT name FROM migrations');
    return rows.map((row) => row.name).sort();
  } finally {
    await dataSource.destroy();
  }
}

describe(`${DB_NODES} service nodes, each on its own Galera node, started together`, () => {
  it(`all come up on an empty database and migrate once, ${ROUNDS} rounds out of ${ROUNDS}`, async () => {
    const results: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const database = await freshGaleraDatabase();
      const started = await startTogether(database.name);
      try {
        const failures = started.flatMap(({ failure }) => (failure === undefined ? [] : [failure]));
        const outputs = started.map(({ node }) => node.output());
        const ran = outputs.filter((output) => /"msg":"ran \d+: /.test(output)).length;
        results.push(
          `round ${round}: ${DB_NODES - failures.length}/${DB_NODES} up, ${ran} migrated`,
        );
        expect(failures).toEqual([]);
        expect(ran).toBe(1);
        // Read through every database node: each has the whole schema, once.
        for (let i = 0; i < DB_NODES; i++) {
          expect(await applied(urlOn(i, database.name))).toEqual(
            MIGRATIONS.map((m) => m.name).sort(),
          );
        }
      } finally {
        for (const { node } of started)
          if (node.child.exitCode === null) node.child.kill('SIGTERM');
        await Promise.all(started.map(({ node }) => node.exited));
        await database.drop();
      }
    }
    process.stdout.write(`${results.join('\n')}\n`);
  }, 600_000);
});
