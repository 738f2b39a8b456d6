/**
 * Losing the database and getting it back, without a restart of the app: /readyz says 503
 * meanwhile, requests fail with the plain database error (no internals), and everything works
 * again once the database is back.
 */
import { execFileSync } from 'node:child_process';
import { NO_TIMERS, relay, RelayFixture } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitUntil } from '../utils/wait';

function expectNoInternals(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/SELECT|INSERT|UPDATE|ECONNREFUSED|QueryFailedError|\bat .+:\d+/);
}

describe('readiness while the database is away', () => {
  let t: TestApp;
  let r: RelayFixture;
  beforeAll(async () => {
    t = await startTestApp({ ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' });
    r = await relay(t);
  });
  afterAll(async () => {
    if (!t.dataSource.isInitialized) await t.dataSource.initialize();
    await t.close();
  });

  const ready = async () => (await t.call('GET', '/readyz')).status;
  const read = () => t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });

  it('answers 503 while the connection is gone and 200 once it is back, with no restart', async () => {
    expect(await ready()).toBe(200);
    await t.dataSource.destroy();
    const down = await t.call('GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 503, message: 'database unreachable' });
    const failed = await read();
    expect(failed.status).toBe(500);
    expect(failed.body.code).toBeGreaterThanOrEqual(500);
    expectNoInternals(failed.body);
    await t.dataSource.initialize();
    expect(await ready()).toBe(200);
    expect((await read()).status).toBe(200);
  });

  // Only a database server can be restarted; the SQLite run has the test above.
  const mariadb = (process.env.DATABASE_URL ?? '').match(/^(mysql|mariadb):/) !== null;
  if (mariadb)
    it('survives a restart of MariaDB itself: 503 while it is down, 200 again after, no 500 with internals', async () => {
      const ping = () => {
        try {
          execFileSync('mysqladmin', ['--host=127.0.0.1', '--user=root', 'ping'], {
            stdio: 'ignore',
          });
          return true;
        } catch {
          return false;
        }
      };
      const running = () => {
        try {
          execFileSync('pgrep', ['-x', 'mariadbd'], { stdio: 'ignore' });
          return true;
        } catch {
          return false;
        }
      };
      execFileSync('mysqladmin', ['--host=127.0.0.1', '--user=root', 'shutdown']);
      try {
        await waitUntil('MariaDB to stop', async () => !ping(), { everyMs: 200 });
        await waitUntil('/readyz to answer 503', async () => (await ready()) === 503, {
          everyMs: 200,
        });
        const failed = await read();
        expect(failed.status).toBe(500);
        expect(failed.body.code).toBe(602);
        expect(failed.body.message).toBe('database error');
        expectNoInternals(failed.body);
      } finally {
        // The server stops answering before its process has gone; started too early, the
        // daemon tool would see it still running and do nothing.
        await waitUntil('the MariaDB process to exit', async () => !running(), {
          timeoutMs: 60_000,
          everyMs: 200,
        });
        execFileSync('start-stop-daemon', [
          '--start',
          '--oknodo',
          '--background',
          '--exec',
          '/usr/sbin/mariadbd',
        ]);
        await waitUntil('MariaDB to start', async () => ping(), {
          timeoutMs: 60_000,
          everyMs: 200,
        });
      }
      await waitUntil('/readyz to answer 200', async () => (await ready()) === 200, {
        everyMs: 200,
      });
      await waitUntil('reads to work again', async () => (await read()).status === 200, {
        everyMs: 200,
      });
      const again = await t.call('POST', `/client/relay/${r.relayId}/started`, {
        token: r.init.token,
      });
      expect(again.status).toBe(200);
    }, 120_000);
});
