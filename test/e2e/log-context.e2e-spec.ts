/**
 * Log lines name the client only when they are about that client's request (docs/operations.md,
 * Logs). Background work (timers, webhooks, streams) is often set going by a request, here a
 * committed event that wakes the webhook dispatcher and the stream feed at once, and its lines
 * must still carry no request_id, user_id or app_id.
 */
import { NO_TIMERS, relay } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { startWebhookReceiver, WebhookReceiver } from '../utils/webhook-receiver';

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

async function until(what: string, holds: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
    await until('a failed webhook delivery logged', () =>
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
