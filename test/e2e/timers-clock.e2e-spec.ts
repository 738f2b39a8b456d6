/**
 * The timer sweep on the real database: driven by a moved clock instead of sleeping for exact
 * due times and changed settings; then a backlog drained by the background sweep while
 * requests keep being answered.
 */
import { writeFigures } from '../utils/test-output';
import { RelayService } from '../../src/relay/relay.service';
import { relay, RelayFixture, relayEvents } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { FakeClock } from '../utils/fake-clock';

/** A node whose background sweep stays out of the way (it runs at start, then every 10 s). */
const QUIET = { TIMER_INTERVAL_MS: '10000', ROOM_HEARTBEAT_TIMEOUT_S: '0' };

async function session(t: TestApp, relayId: string) {
  const [row] = await t.dataSource.query(
    'SELECT status, stop_reason AS reason, created_at AS createdAt, stop_at AS stopAt, deadline_at AS deadlineAt ' +
      'FROM relay_session WHERE relay_id = ?',
    [relayId],
  );
  return {
    status: Number(row.status),
    reason: String(row.reason),
    createdAt: Number(row.createdAt),
    stopAt: row.stopAt === null ? null : Number(row.stopAt),
    deadlineAt: row.deadlineAt === null ? null : Number(row.deadlineAt),
  };
}

describe('timer sweep with a controlled clock', () => {
  let t: TestApp;
  let clock: FakeClock;
  let relays: RelayService;
  beforeAll(async () => {
    t = await startTestApp({ ...QUIET, RELAY_INVITE_TIMEOUT_S: '30', RELAY_JOIN_TIMEOUT_S: '60' });
    clock = new FakeClock().attachTo(t.app);
    relays = t.app.get(RelayService);
  });
  afterAll(async () => {
    await t.close();
  });

  it('fires an invitation at exactly its due time, not a millisecond before', async () => {
    const r = await relay(t, { mode: 'invite' });
    const { createdAt } = await session(t, r.relayId);
    clock.set(createdAt + 29_999);
    await relays.expireDue(200);
    expect((await session(t, r.relayId)).status).toBe(0);
    clock.set(createdAt + 30_000);
    await relays.expireDue(200);
    expect(await session(t, r.relayId)).toMatchObject({
      status: 6,
      reason: 'invite_timeout',
      stopAt: createdAt + 30_000,
      deadlineAt: null,
    });
  });

  it('fires each timer once however often the sweep runs', async () => {
    const r = await relay(t);
    const { createdAt } = await session(t, r.relayId);
    clock.set(createdAt + 60_000);
    await Promise.all([relays.expireDue(200), relays.expireDue(200), relays.expireDue(200)]);
    await relays.expireDue(200);
    const expiries = (await relayEvents(t, r.relayId)).filter((e) => e.data.to === 6);
    expect(expiries.map((e) => e.data.reason)).toEqual(['join_timeout']);
  });
});

describe('timer settings changed after deadlines were stored', () => {
  it('moves a deadline that a longer timeout pushed out, without an event', async () => {
    const before = await startTestApp({ ...QUIET, RELAY_INVITE_TIMEOUT_S: '30' });
    const r = await relay(before, { mode: 'invite' });
    await before.stop();
    const after = await startTestApp({
      ...QUIET,
      RELAY_INVITE_TIMEOUT_S: '60',
      DATABASE_URL: before.databaseUrl,
    });
    try {
      const clock = new FakeClock().attachTo(after.app);
      const { createdAt, deadlineAt } = await session(after, r.relayId);
      expect(deadlineAt).toBe(createdAt + 30_000);
      clock.set(createdAt + 31_000);
      await after.app.get(RelayService).expireDue(200);
      expect(await session(after, r.relayId)).toMatchObject({
        status: 0,
        deadlineAt: createdAt + 60_000,
      });
      expect(await relayEvents(after, r.relayId)).toHaveLength(1);
    } finally {
      await after.close();
      await before.close();
    }
  });
});

describe('a backlog of due sessions', () => {
  const BACKLOG = 10000;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      TIMER_INTERVAL_MS: '100',
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
      RELAY_INVITE_TIMEOUT_S: '30',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('finds due work through an index, a bounded batch at a time', async () => {
    const sql =
      'SELECT relay_id FROM relay_session WHERE deadline_at <= ? ORDER BY deadline_at LIMIT ?';
    const plan = JSON.stringify(
      t.config.database.kind === 'sqlite'
        ? await t.dataSource.query(`EXPLAIN QUERY PLAN ${sql}`, [Date.now(), 200])
        : await t.dataSource.query(`EXPLAIN ${sql}`, [Date.now(), 200]),
    );
    expect(plan).toContain('idx_relay_session_deadline');
  });

  /** The rooms of a two-room invitation, as the service stores them. */
  const INVITATION_ROOMS = JSON.stringify([
    { roomId: 'ra', userId: 'a', role: 'init', state: 'agreed', reason: '', agreedAt: null },
    { roomId: 'rb', userId: 'b', role: 'recv', state: 'invited', reason: '', agreedAt: null },
  ]);

  it('drains in the background while requests keep being answered', async () => {
    const probe = await relay(t);
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) idle.push(await timed(() => read(probe)));
    const past = Date.now() - 60_000;
    for (let start = 0; start < BACKLOG; start += 500) {
      const rows = Array.from({ length: 500 }, (_, i) => start + i);
      await t.dataSource.query(
        'INSERT INTO relay_session (relay_id, app_id, init_user_id, init_room_id, recv_user_id, recv_room_id, ' +
          'rooms_json, status, stop_reason, duration_s, extends_json, version, start_at, stop_at, deadline_at, ' +
          'created_at, updated_at) VALUES ' +
          rows
            .map(
              () =>
                "(?, 'backlog', 'a', 'ra', 'b', 'rb', ?, 0, '', NULL, '{}', 1, NULL, NULL, ?, ?, ?)",
            )
            .join(', '),
        rows.flatMap((i) => [`backlog_${i}`, INVITATION_ROOMS, past, past - 30_000, past - 30_000]),
      );
    }
    const started = Date.now();
    const during: number[] = [];
    let open = BACKLOG;
    // The drain is measured, not bounded: on a loaded machine it only takes longer.
    while (open > 0 && Date.now() - started < 160_000) {
      during.push(await timed(() => read(probe)));
      const [row] = await t.dataSource.query(
        "SELECT COUNT(*) AS n FROM relay_session WHERE app_id = 'backlog' AND status <> 6",
      );
      open = Number(row.n);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const drainMs = Date.now() - started;
    expect(open).toBe(0);
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)];
    // A request waits at most behind one batch of short transactions; blocked behind the
    // backlog it would wait about as long as the whole drain. The bound is a share of the drain
    // measured in this run, so a slow or busy machine does not fail it by itself.
    expect(p(during, 0.99)).toBeLessThan(Math.max(500, drainMs / 4));
    const figures = {
      database: t.config.database.kind,
      backlog: BACKLOG,
      drain_ms: drainMs,
      expiries_per_s: Math.round((BACKLOG / drainMs) * 1000),
      probe_requests: during.length,
      idle_p50_ms: p(idle, 0.5),
      during_p50_ms: p(during, 0.5),
      during_p99_ms: p(during, 0.99),
    };
    writeFigures(`timers-backlog-${figures.database}.json`, figures);
  });

  async function read(probe: RelayFixture) {
    const answer = await t.call('GET', `/client/relay/${probe.relayId}`, {
      token: probe.init.token,
    });
    expect(answer.status).toBe(200);
  }

  async function timed(work: () => Promise<void>): Promise<number> {
    const sent = performance.now();
    await work();
    return performance.now() - sent;
  }
});
