/**
 * Event retention (docs/operations.md, "Retention"): events older than EVENT_RETENTION_HOURS are
 * deleted with their finished deliveries, in small batches, by every node, while requests go on;
 * relay sessions, rooms and anything still being delivered are kept. And what that job and the
 * `relays_active` gauge scan is read through an index (EXPLAIN).
 */
import { EXPIRED_EVENTS_SQL } from '../../src/event-log/event-log.service';
import { EventRetentionWorker } from '../../src/event-log/event-retention.worker';
import { RetentionIndexes1764374400000 } from '../../src/database/migrations/1764374400000-retention-indexes';
import { RELAYS_ACTIVE_SQL } from '../../src/relay/relay.store';
import { NO_TIMERS, relay, RelayFixture, relayEvents } from '../factories';
import { expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';
import { FakeClock } from '../utils/fake-clock';
import { waitUntil } from '../utils/wait';
import { startWebhookReceiver, WebhookReceiver } from '../utils/webhook-receiver';

const HOUR_MS = 3_600_000;
const ENV = {
  ...NO_TIMERS,
  ROOM_HEARTBEAT_TIMEOUT_S: '0',
  TIMER_INTERVAL_MS: '100',
  EVENT_RETENTION_HOURS: '24',
};

async function eventIds(t: TestApp, relayId: string): Promise<number[]> {
  return (await relayEvents(t, relayId)).map((e) => e.id);
}

async function deliveries(
  t: TestApp,
  relayId: string,
): Promise<{ eventId: number; status: string }[]> {
  const rows: { eventId: unknown; status: string }[] = await t.dataSource.query(
    'SELECT d.event_id AS eventId, d.status FROM webhook_delivery d ' +
      'WHERE d.event_id IN (SELECT id FROM relay_event WHERE relay_id = ?) ORDER BY d.event_id',
    [relayId],
  );
  return rows.map((r) => ({ eventId: Number(r.eventId), status: r.status }));
}

async function countRows(t: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM ${sql}`, params);
  return Number(row.n);
}

/** A relay's whole life (created, both started, stopped): four events. */
async function endedRelay(t: TestApp): Promise<RelayFixture> {
  const r = await relay(t);
  for (const [action, token] of [
    ['started', r.init.token],
    ['started', r.recv.token],
    ['stop', r.init.token],
  ]) {
    expectOk(await t.call('POST', `/client/relay/${r.relayId}/${action}`, { token }));
  }
  return r;
}

/** `count` events of one made-up relay, all `occurredAt`, written straight to the log. */
async function insertEvents(t: TestApp, relayId: string, count: number, occurredAt: number) {
  for (let from = 0; from < count; from += 250) {
    const seqs = Array.from({ length: Math.min(250, count - from) }, (_, i) => from + i + 1);
    await t.dataSource.query(
      'INSERT INTO relay_event (type, relay_id, app_id, seq, occurred_at, data) VALUES ' +
        seqs.map(() => "('relay.extends_updated', ?, 'default', ?, ?, '{}')").join(', '),
      seqs.flatMap((seq) => [relayId, seq, occurredAt]),
    );
  }
}

describe('event retention', () => {
  let receiver: WebhookReceiver;
  let t: TestApp;
  let clock: FakeClock;
  let worker: EventRetentionWorker;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await startTestApp({ ...ENV, WEBHOOK_URLS: receiver.url });
    clock = new FakeClock().attachTo(t.app);
    worker = t.app.get(EventRetentionWorker);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('deletes expired events with their finished deliveries, keeps what is pending, sessions and rooms', async () => {
    const start = Date.now();
    clock.set(start);
    const old = await endedRelay(t);
    const ids = await eventIds(t, old.relayId);
    expect(ids).toHaveLength(4);
    await receiver.waitUntil((all) =>
      ids.every((id) => all.some((r) => r.headers['x-relay-event-id'] === String(id))),
    );
    // Settle every delivery the way each case needs: delivered, failed, and one still pending
    // (due far in the future, so no attempt finishes it meanwhile).
    await waitUntil('the deliveries to settle', async () =>
      (await deliveries(t, old.relayId)).every((d) => d.status !== 'pending'),
    );
    await t.dataSource.query("UPDATE webhook_delivery SET status = 'failed' WHERE event_id = ?", [
      ids[1],
    ]);
    await t.dataSource.query(
      "UPDATE webhook_delivery SET status = 'pending', next_attempt_at = ? WHERE event_id = ?",
      [start + 1000 * HOUR_MS, ids[2]],
    );

    clock.set(start + 24 * HOUR_MS - 1);
    expect(await worker.deleteExpired(200)).toBe(0);
    clock.set(start + 24 * HOUR_MS + 60_000);
    const recent = await relay(t);
    const recentIds = await eventIds(t, recent.relayId);
    await receiver.waitUntil((all) =>
      all.some((r) => r.headers['x-relay-event-id'] === String(recentIds[0])),
    );

    expect(await worker.deleteExpired(200)).toBe(3);
    expect(await eventIds(t, old.relayId)).toEqual([ids[2]]);
    expect(await deliveries(t, old.relayId)).toEqual([{ eventId: ids[2], status: 'pending' }]);
    expect(await eventIds(t, recent.relayId)).toEqual(recentIds);
    expect((await deliveries(t, recent.relayId)).map((d) => d.eventId)).toEqual(recentIds);
    const session = expectOk(
      await t.call('GET', `/client/relay/${old.relayId}`, { token: old.init.token }),
    );
    expect(session).toMatchObject({ relay_id: old.relayId, status: 6 });
    for (const side of [old.init, old.recv]) {
      expectOk(await t.call('GET', `/client/live/room/info/${side.liveId}`, { token: side.token }));
    }

    // Once its delivery has finished, the last expired event goes too.
    await t.dataSource.query(
      "UPDATE webhook_delivery SET status = 'delivered' WHERE event_id = ?",
      [ids[2]],
    );
    expect(await worker.deleteExpired(200)).toBe(1);
    expect(await eventIds(t, old.relayId)).toEqual([]);
    expect(await deliveries(t, old.relayId)).toEqual([]);
    expect(await worker.deleteExpired(200)).toBe(0);
  });

  it('deletes in batches of the given size, oldest first', async () => {
    const now = Date.now();
    clock.set(now);
    await insertEvents(t, 'relay_batch_a', 3, now - 50 * HOUR_MS);
    await insertEvents(t, 'relay_batch_b', 3, now - 40 * HOUR_MS);
    const count = (relayId: string) => countRows(t, 'relay_event WHERE relay_id = ?', [relayId]);
    expect(await worker.deleteExpired(2)).toBe(2);
    expect([await count('relay_batch_a'), await count('relay_batch_b')]).toEqual([1, 3]);
    expect(await worker.deleteExpired(2)).toBe(2);
    expect([await count('relay_batch_a'), await count('relay_batch_b')]).toEqual([0, 2]);
    expect(await worker.deleteExpired(200)).toBe(2);
    expect(await worker.deleteExpired(200)).toBe(0);
  });

  it('works off a backlog in the background while requests are answered', async () => {
    const now = Date.now();
    clock.set(now);
    await insertEvents(t, 'relay_backlog', 3000, now - 100 * HOUR_MS);
    const r = await relay(t);
    worker.wake();
    const latencies: number[] = [];
    for (
      let waited = 0;
      (await countRows(t, "relay_event WHERE relay_id = 'relay_backlog'")) > 0;
    ) {
      if (waited > 30_000) throw new Error('the backlog was not deleted within 30 s');
      const sent = Date.now();
      expectOk(await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token }));
      latencies.push(Date.now() - sent);
      waited += latencies[latencies.length - 1];
    }
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(await eventIds(t, r.relayId)).toHaveLength(1);
  });

  // Several nodes share MySQL/MariaDB only: SQLite is one node's database (docs/operations.md).
  const onSharedDatabase = /^(mysql|mariadb):\/\//.test(process.env.DATABASE_URL ?? '')
    ? it
    : it.skip;

  onSharedDatabase(
    'runs on several nodes at once, each event deleted once and nothing failing',
    async () => {
      const other = await startTestApp({ ...ENV, DATABASE_URL: t.databaseUrl });
      try {
        const now = Date.now();
        clock.set(now);
        new FakeClock(now).attachTo(other.app);
        await insertEvents(t, 'relay_two_nodes', 1000, now - 30 * HOUR_MS);
        const workers = [worker, other.app.get(EventRetentionWorker)];
        await Promise.all(
          workers.map(async (w) => {
            while ((await w.deleteExpired(50)) > 0);
          }),
        );
        expect(await countRows(t, "relay_event WHERE relay_id = 'relay_two_nodes'")).toBe(0);
      } finally {
        await other.stop();
      }
    },
  );
});

describe('indexes of what background work scans (EXPLAIN)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(ENV);
    // Enough rows, mostly ended relays and old events, that a full scan would be the worse plan.
    const sessions = Array.from({ length: 400 }, (_, i) => i);
    await t.dataSource.query(
      'INSERT INTO relay_session (relay_id, app_id, init_user_id, init_room_id, recv_user_id, recv_room_id, ' +
        'status, extends_json, version, created_at, updated_at) VALUES ' +
        sessions.map(() => "(?, 'default', 'a', 'ra', 'b', 'rb', ?, '{}', 1, 0, 0)").join(', '),
      sessions.flatMap((i) => [`relay_explain_${i}`, i % 20 === 0 ? i % 5 : 6]),
    );
    await insertEvents(t, 'relay_explain', 400, Date.now());
    if (t.config.database.kind === 'mysql') {
      await t.dataSource.query('ANALYZE TABLE relay_session, relay_event, webhook_delivery');
    } else {
      await t.dataSource.query('ANALYZE');
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The indexes the database says it would read `sql` (with `params`) through. */
  async function indexesUsed(sql: string, params: unknown[]): Promise<string> {
    if (t.config.database.kind === 'mysql') {
      const rows: { table: string; key: string | null }[] = await t.dataSource.query(
        `EXPLAIN ${sql}`,
        params,
      );
      return rows.map((row) => `${row.table}:${row.key ?? 'none'}`).join(' ');
    }
    const rows: { detail: string }[] = await t.dataSource.query(
      `EXPLAIN QUERY PLAN ${sql}`,
      params,
    );
    return rows.map((row) => row.detail).join(' | ');
  }

  it('reads the relays_active gauge from idx_relay_session_status', async () => {
    const plan = await indexesUsed(RELAYS_ACTIVE_SQL, []);
    expect(plan).toContain('idx_relay_session_status');
    expect(plan).not.toMatch(/SCAN relay_session(?! USING)/);
  });

  it('finds expired events through idx_relay_event_occurred', async () => {
    const plan = await indexesUsed(EXPIRED_EVENTS_SQL, [Date.now() - 24 * HOUR_MS, -1, -1, 0, 200]);
    expect(plan).toContain('idx_relay_event_occurred');
  });

  it('has a migration whose down() drops both indexes and whose up() makes them again', async () => {
    const runner = t.dataSource.createQueryRunner();
    const indexes = async () =>
      [
        ...(await runner.getTable('relay_event'))!.indices,
        ...(await runner.getTable('relay_session'))!.indices,
      ]
        .map((index) => index.name)
        .filter(
          (name) => name === 'idx_relay_event_occurred' || name === 'idx_relay_session_status',
        )
        .sort();
    const migration = new RetentionIndexes1764374400000();
    try {
      expect(await indexes()).toEqual(['idx_relay_event_occurred', 'idx_relay_session_status']);
      await migration.down(runner);
      expect(await indexes()).toEqual([]);
      await migration.up(runner);
      expect(await indexes()).toEqual(['idx_relay_event_occurred', 'idx_relay_session_status']);
    } finally {
      await runner.release();
    }
  });
});
