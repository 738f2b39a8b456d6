/**
 * Service nodes started together on an empty Galera database, each on a different database
 * node: the migrations run once (under the lock row, which Galera replicates, unlike GET_LOCK)
 * and every node comes up, round after round (GALERA_ROUNDS, 3 by default). The nodes are apps
 * of this process, each with its own connection pool, so a round takes seconds, not the minute
 * three ts-node processes take to start on a small machine.
 */
import { MIGRATIONS } from '../../src/app.schema';
import { startTestApp } from '../utils/test-app';
import { DB_NODES, freshGaleraDatabase, urlOn } from './cluster';

const ROUNDS = Number(process.env.GALERA_ROUNDS ?? 3);

describe(`${DB_NODES} service nodes, each on its own Galera node, started together`, () => {
  it(`all come up on an empty database and migrate once, ${ROUNDS} rounds out of ${ROUNDS}`, async () => {
    const results: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const database = await freshGaleraDatabase();
      const began = Date.now();
      // The n-th app started is attached to database node n (test/utils/test-app.ts).
      const started = await Promise.allSettled(
        Array.from({ length: DB_NODES }, () =>
          startTestApp({ DATABASE_URL: urlOn(0, database.name) }),
        ),
      );
      const apps = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      try {
        const failures = started.flatMap((s) =>
          s.status === 'rejected' ? [String(s.reason)] : [],
        );
        const ran = apps.filter((app) => app.logs.some((line) => /"msg":"ran \d+: /.test(line)));
        results.push(
          `round ${round}: ${apps.length}/${DB_NODES} up in ${Date.now() - began} ms, ${ran.length} migrated`,
        );
        expect(failures).toEqual([]);
        expect(ran).toHaveLength(1);
        // Every database node has the whole schema, each migration recorded once.
        for (const app of apps) {
          const rows = await app.dataSource.query<{ name: string }[]>(
            'SELECT name FROM migrations',
          );
          expect(rows.map((row) => row.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
          expect((await app.call('GET', '/readyz', { unchecked: true })).status).toBe(200);
        }
      } finally {
        for (const app of apps) await app.stop();
        await database.drop();
      }
    }
    process.stdout.write(`${results.join('\n')}\n`);
  }, 900_000);
});
