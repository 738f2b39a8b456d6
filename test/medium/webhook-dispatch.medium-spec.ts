/**
 * docs/events.md, "Webhooks": the dispatcher POSTs each event to a local receiver, and a failed
 * attempt falls due again 1 s, 2 s, 4 s... after it, by the fake clock, until one is delivered
 * or WEBHOOK_MAX_ATTEMPTS have failed. The sweepers run as in the app (each attempt wakes the
 * next sweep); a test moves the clock and wakes the dispatcher instead of waiting for retries.
 */
import { Sweeper } from '../../src/common/sweeper';
import { Database } from '../../src/database/database.service';
import { WebhookDeliveryStore } from '../../src/notification/webhook-delivery.store';
import { WebhookDispatcher } from '../../src/notification/webhook.dispatcher';
import { relayEvents } from '../factories';
import { serviceRelay } from '../factories/service';
import { MediumApp, startMediumApp } from '../utils/medium-app';
import { verifySignature, startWebhookReceiver, WebhookReceiver } from '../utils/webhook-receiver';
import { waitUntil } from '../utils/wait';

const SECRET = 'medium-webhook-secret';

describe.each([
  // replies of the receiver, WEBHOOK_MAX_ATTEMPTS -> the delivery's end
  [[503, 503, 200], 10, 'delivered'],
  [[500, 500, 500], 3, 'failed'],
  [[200], 1, 'delivered'],
] as [number[], number, string][])(
  'webhook dispatch, the receiver answering %j, WEBHOOK_MAX_ATTEMPTS %i',
  (replies, maxAttempts, end) => {
    let receiver: WebhookReceiver;
    let app: MediumApp;

    beforeAll(async () => {
      receiver = await startWebhookReceiver({ queue: replies });
      app = await startMediumApp(
        {
          RELAY_INVITE_TIMEOUT_S: '0',
          RELAY_JOIN_TIMEOUT_S: '0',
          ROOM_HEARTBEAT_TIMEOUT_S: '0',
          // A sweep between wake-ups finds nothing: due times are by the fake clock.
          TIMER_INTERVAL_MS: '10000',
          WEBHOOK_URLS: receiver.url,
          WEBHOOK_SECRET: SECRET,
          WEBHOOK_EVENT_TYPES: 'relay.status_changed',
          WEBHOOK_MAX_ATTEMPTS: String(maxAttempts),
        },
        { sweepers: true },
      );
    });
    afterAll(async () => {
      await receiver.close();
      await app.close();
    });

    /** The one delivery, once its attempt number `attempts` has been recorded. */
    const settled = (attempts: number) =>
      waitUntil(`attempt ${attempts} to be recorded`, async () => {
        const [row] = await app.dataSource.query(
          'SELECT id, status, attempts, next_attempt_at AS nextAt FROM webhook_delivery',
        );
        return Number(row?.attempts) === attempts
          ? { id: Number(row.id), status: String(row.status), nextAt: Number(row.nextAt) }
          : undefined;
      });

    const due = (at: number) =>
      app
        .get(Database)
        .read((sql) => app.get(WebhookDeliveryStore).findDue(sql, at, Sweeper.BATCH));

    it(`makes each attempt when it falls due, and ends ${end}`, async () => {
      const t0 = app.clock.begin();
      const r = await serviceRelay(app);
      const [created] = await relayEvents(app, r.relayId);
      let last = t0;
      for (let attempt = 1; attempt <= replies.length; attempt++) {
        if (attempt > 1) {
          // Retry n falls due 2^(n-1) s after the attempt before it, not a millisecond sooner.
          const next = last + 1000 * 2 ** (attempt - 2);
          const { id, nextAt } = await settled(attempt - 1);
          expect(nextAt).toBe(next);
          expect(await due(next - 1)).toEqual([]);
          expect(await due(next)).toEqual([id]);
          app.clock.set(next);
          app.get(WebhookDispatcher).wake();
          last = next;
        }
        await receiver.waitForRequests(attempt, 10_000);
      }
      const row = await settled(replies.length);
      expect(row.status).toBe(end);
      expect(receiver.requests.map((x) => x.answered)).toEqual(replies);
      for (const x of receiver.requests) {
        expect(x.headers['x-relay-event-id']).toBe(String(created.id));
        expect(x.body).toBe(receiver.requests[0].body);
        expect(verifySignature(SECRET, x.headers, x.body)).toBe(true);
      }
      // Nothing is due any more, however far the clock goes.
      expect(await due(t0 + 24 * 3600_000)).toEqual([]);
    });
  },
);
