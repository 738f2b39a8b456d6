/**
 * Several nodes started at the same moment (a fresh install, a rolling deploy): the migrations
 * run once, under a database lock, and every node comes up. Real processes, as an orchestrator
 * starts them, on a database of their own: a new MySQL/MariaDB database when DATABASE_URL
 * names a server, else a new SQLite file.
 */
import { MIGRATIONS } from '../../src/app.schema';
import { runTypeScript, Spawned } from '../utils/spawned-process';
import { FreshDatabase, freshDatabase } from '../utils/test-app';
import { openDatabase } from '../utils/database';

const NODES = 3;

interface Started {
  node: Spawned;
  /** When its /readyz first answered 200, in ms after all were spawned. */
  readyAfterMs?: number;
  failure?: string;
}

/** Spawns the nodes together; each one answers /readyz 200 or its failure is recorded. */
async function startTogether(databaseUrl: string): Promise<Started[]> {
  const nodes = Array.from({ length: NODES }, () =>
    runTypeScript('src/main.ts', [], { env: { PORT: '0', DATABASE_URL: databaseUrl } }),
  );
  const spawnedAt = Date.now();
  return Promise.all(
    nodes.map(async (node): Promise<Started> => {
      try {
        const port = Number((await node.waitFor(/listening on port (\d+)/, 120_000))[1]);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (ready.status !== 200) return { node, failure: `/readyz ${ready.status}` };
        return { node, readyAfterMs: Date.now() - spawnedAt };
      } catch (error) {
        return { node, failure: String(error) };
      }
    }),
  );
}

async function stopAll(started: Started[]): Promise<void> {
  for (const { node } of started) if (node.child.exitCode === null) node.child.kill('SIGTERM');
  await Promise.all(started.map(({ node }) => node.exited));
}

async function appliedMigrations(databaseUrl: string): Promise<string[]> {
  const dataSource = await openDatabase(databaseUrl);
  try {
    const rows = await dataSource.query<{ name: string }[]>(
      'SELECT name FROM migrations ORDER BY id',
    );
    return rows.map((row) => row.name);
  } finally {
    await dataSource.destroy();
  }
}

describe(`${NODES} nodes starting at the same moment`, () => {
  const databases: FreshDatabase[] = [];
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  const cases: [string, (databaseUrl: string) => Promise<void>][] = [
    ['an empty database', async () => undefined],
    [
      'a database one migration behind (a rolling deploy)',
      async (databaseUrl) => {
        const dataSource = await openDatabase(databaseUrl, MIGRATIONS.slice(0, -1));
        await dataSource.runMigrations();
        await dataSource.destroy();
      },
    ],
  ];

  it.each(cases)(
    'all come up on %s, and the migrations run once',
    async (label, prepare) => {
      const database = await freshDatabase();
      databases.push(database);
      const databaseUrl = database.url;
      await prepare(databaseUrl);
      const started = await startTogether(databaseUrl);
      try {
        const failures = started
          .filter(({ failure }) => failure !== undefined)
          .map(({ failure }) => failure);
        expect(failures).toEqual([]);
        expect(await appliedMigrations(databaseUrl)).toEqual(MIGRATIONS.map((m) => m.name));
        // One node ran them; each other one found the schema up to date once it had the lock.
        const outputs = started.map(({ node }) => node.output());
        expect(outputs.filter((output) => /"msg":"ran \d+: /.test(output))).toHaveLength(1);
        expect(outputs.filter((output) => /schema up to date/.test(output))).toHaveLength(
          NODES - 1,
        );
        const ready = started.map(({ readyAfterMs }) => readyAfterMs);
        process.stdout.write(`${NODES} nodes up on ${label}: ready after ${ready.join(', ')} ms\n`);
      } finally {
        await stopAll(started);
      }
    },
    180_000,
  );
});
