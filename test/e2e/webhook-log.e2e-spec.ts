/**
 * A receiver that refuses is the customer's to fix, and the log is where an operator looks
 * first (docs/operations.md, Logs): every failed attempt is a warning naming the event, the URL,
 * the attempt and the answer (an HTTP status, or the network error), and the attempt after which
 * a delivery is marked failed says so. One app in this file: Nest's logger is process-wide, so
 * the lines of a second app would land in the first one's log.
 */
import { unusedPort } from '../utils/spawned-process';
import { NO_TIMERS, relay, relayEvents } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { startWebhookReceiver, WebhookReceiver } from '../utils/webhook-receiver';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('failed webhook attempts in the log', () => {
  let receiver: WebhookReceiver;
  let t: TestApp;
  let nobody: string;

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ fallback: 500 });
    nobody = `http://127.0.0.1:${await unusedPort()}/hooks`;
    t = await startTestApp({
      ...NO_TIMERS,
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
      TIMER_INTERVAL_MS: '100',
      WEBHOOK_URLS: `${receiver.url},${nobody}`,
      WEBHOOK_MAX_ATTEMPTS: '2',
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('warns of each failed attempt, with the status or the error, and of the delivery marked failed', async () => {
    const r = await relay(t);
    const [created] = await relayEvents(t, r.relayId);
    const warnings = (url: string) =>
      t.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.level === 'warn' && line.context === 'WebhookDispatcher')
        .map((line) => String(line.msg))
        .filter((msg) => msg.startsWith(`webhook event ${created.id} to ${url}:`));
    const both = (url: string) =>
      until(`two warnings for ${url}`, () => {
        const lines = warnings(url);
        return lines.length >= 2 ? lines : undefined;
      });

    expect(await both(receiver.url)).toEqual([
      `webhook event ${created.id} to ${receiver.url}: attempt 1 failed (HTTP 500); will retry in 1 s`,
      `webhook event ${created.id} to ${receiver.url}: attempt 2 failed (HTTP 500); marked failed after 2 attempts`,
    ]);
    expect(await both(nobody)).toEqual([
      `webhook event ${created.id} to ${nobody}: attempt 1 failed (ECONNREFUSED); will retry in 1 s`,
      `webhook event ${created.id} to ${nobody}: attempt 2 failed (ECONNREFUSED); marked failed after 2 attempts`,
    ]);
  }, 30_000);
});
