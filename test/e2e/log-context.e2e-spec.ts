/**
 * Log lines name the client only when they are about that client's request (docs/operations.md,
 * Logs). Background work (timers, webhooks, streams) is often set going by a request, here a
 * committed event that wakes the webhook dispatcher and the stream feed at once, and its lines
 * must still carry no request_id, user_id or app_id. The lines a request writes deep down (a
 * retried or failed transaction) carry all three.
 */
import { anchor, NO_TIMERS, relay, tokenFor, uniqueUser } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { startWebhookReceiver, WebhookReceiver } from '../utils/webhook-receiver';
import { waitUntil } from '../utils/wait';

/** The `context` of every line written by work that runs for no client. */
const BACKGROUND = [
  'WebhookDispatcher',
  'EventStreamHub',
  'RelayTimerWorker',
  'RoomHeartbeatWorker',
  'RelayService',
  'LiveRoomService',
];
const IDENTITY = ['request_id', 'user_id', 'app_id'];

type Line = Record<string, unknown>;

function lines(t: TestApp): Line[] {
  return t.logs.map((text) => JSON.parse(text) as Line);
}

describe('log context of background work', () => {
  let receiver: WebhookReceiver;
  let t: TestApp;

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ fallback: 500 });
    t = await startTestApp({
      ...NO_TIMERS,
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
      // The longest interval: in the seconds of this spec only a wake-up from a request's
      // commit sends a webhook, so that is what writes the lines below.
      TIMER_INTERVAL_MS: '10000',
      WEBHOOK_URLS: receiver.url,
    });
    // A fault in the database the requests never touch: every attempt to take a delivery
    // fails, and the dispatcher logs each failure.
    const sqlite = t.databaseUrl.startsWith('sqlite:');
    await t.dataSource.query(
      sqlite
        ? "CREATE TRIGGER refuse_claim BEFORE UPDATE ON webhook_delivery BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        : "CREATE TRIGGER refuse_claim BEFORE UPDATE ON webhook_delivery FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'",
    );
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('is written without the identity of the request that woke it; request lines keep theirs', async () => {
    const { init } = await relay(t);
    await waitUntil('a failed webhook delivery logged', () =>
      lines(t).some(
        (line) => line.context === 'WebhookDispatcher' && /injected fault/.test(String(line.msg)),
      ),
    );

    const all = lines(t);
    const background = all.filter((line) => BACKGROUND.includes(String(line.context)));
    expect(background.length).toBeGreaterThan(0);
    const named = background.filter((line) => IDENTITY.some((key) => key in line));
    expect(named).toEqual([]);

    const start = all.find(
      (line) => line.msg === 'request' && line.route === '/client/relay/start',
    );
    expect(start).toMatchObject({ user_id: init.userId, app_id: 'default' });
    expect(start?.request_id).toEqual(expect.any(String));
  });
});

describe('log lines of a request', () => {
  let t: TestApp;
  let sqlite: boolean;

  beforeAll(async () => {
    t = await startTestApp(NO_TIMERS);
    sqlite = t.databaseUrl.startsWith('sqlite:');
  });
  afterAll(() => t.close());

  it('a failed transaction is logged with the request id, user and app', async () => {
    await t.dataSource.query(
      sqlite
        ? "CREATE TRIGGER refuse_room BEFORE INSERT ON live_room BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        : "CREATE TRIGGER refuse_room BEFORE INSERT ON live_room FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'",
    );
    try {
      const userId = uniqueUser('refused');
      const answer = await t.call('POST', '/client/live/room/instance', {
        token: tokenFor(t, userId, { appId: 'app_logs' }),
        body: { title: 'refused' },
        headers: { 'x-request-id': 'log-check-500' },
      });
      expect(answer.status).toBe(500);
      const failed = lines(t).filter((line) => /injected fault/.test(String(line.msg)));
      expect(failed.length).toBeGreaterThan(0);
      for (const line of failed) {
        expect(line).toMatchObject({
          request_id: 'log-check-500',
          user_id: userId,
          app_id: 'app_logs',
        });
      }
    } finally {
      await t.dataSource.query(
        sqlite ? 'DROP TRIGGER refuse_room' : 'DROP TRIGGER IF EXISTS refuse_room',
      );
    }
  });

  // A deadlock on demand needs a trigger that fails once and remembers it did, past the
  // rollback: a MEMORY table is not transactional. SQLite has no such table, and the retry it
  // gets (SQLITE_BUSY) needs another process holding its lock; the line is written by the same
  // code for both databases.
  const onMariaDb = process.env.DATABASE_URL?.startsWith('mysql') ? it : it.skip;
  onMariaDb('a retried transaction is logged with the request id, user and app', async () => {
    const a = await anchor(t, { live: false });
    await t.dataSource.query('CREATE TABLE fault_budget (n INT) ENGINE=MEMORY');
    await t.dataSource.query('INSERT INTO fault_budget VALUES (1)');
    await t.dataSource.query(
      'CREATE TRIGGER deadlock_once BEFORE UPDATE ON live_room FOR EACH ROW BEGIN ' +
        'IF (SELECT n FROM fault_budget) > 0 THEN UPDATE fault_budget SET n = n - 1; ' +
        "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'injected deadlock'; " +
        'END IF; END',
    );
    try {
      const started = await t.call('PUT', `/client/live/room/${a.liveId}`, {
        token: a.token,
        headers: { 'x-request-id': 'log-check-retry' },
      });
      expect(started.status).toBe(200);
      const retried = lines(t).filter((line) => /transaction retried/.test(String(line.msg)));
      expect(retried).toEqual([
        expect.objectContaining({
          context: 'Database',
          request_id: 'log-check-retry',
          user_id: a.userId,
          app_id: 'default',
        }),
      ]);
    } finally {
      await t.dataSource.query('DROP TRIGGER IF EXISTS deadlock_once');
      await t.dataSource.query('DROP TABLE IF EXISTS fault_budget');
    }
  });
});
