/**
 * Webhooks (docs/events.md): every domain event is POSTed, signed, to every URL in
 * WEBHOOK_URLS; failures are retried with backoff, across restarts, and by exactly one node per
 * attempt; exhausted deliveries are listed and redelivered through the server API. Receivers are
 * real HTTP servers (test/utils/webhook-receiver.ts), apps real ones on a real database.
 *
 * Scenarios that mostly wait (backoff, timeouts, restarts, several nodes) each start their own
 * apps and receivers and run side by side; the rest share one app with two healthy receivers.
 * Delivery latencies (event occurred_at -> POST arrival) are written to test-output/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  anchor,
  EventRow,
  NO_TIMERS,
  publicEvent,
  relay,
  relayEvents,
  tokenFor,
  uniqueUser,
} from '../factories';
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { expectError, expectOk } from '../utils/assertions';
import { openStream } from '../utils/sse-client';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';
import { pause, WAIT_MS, waitUntil } from '../utils/wait';
import {
  ReceivedRequest,
  ReceiverOptions,
  startWebhookReceiver,
  verifySignature,
  WebhookReceiver,
} from '../utils/webhook-receiver';

const SECRET = 'e2e-webhook-secret-7f3a9c';
const ENV = {
  ...NO_TIMERS,
  ROOM_HEARTBEAT_TIMEOUT_S: '0',
  TIMER_INTERVAL_MS: '100',
  WEBHOOK_SECRET: SECRET,
};
const EVENT_KEYS = ['app_id', 'data', 'id', 'occurred_at', 'relay_id', 'seq', 'type'];
const DELIVERY_KEYS = ['attempts', 'event', 'event_id', 'id', 'last_error', 'status', 'url'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** A server API call signed with Qiniu MAC (util.generateAccessTokenV2), or not signed at all. */
function server(
  t: TestApp,
  method: 'GET' | 'POST',
  path: string,
  keys: [string, string] | null = [t.config.serverAccessKey, t.config.serverSecretKey],
): Promise<HttpAnswer> {
  const headers: Record<string, string> =
    keys === null ? {} : { authorization: qiniuSignV2(keys[0], keys[1], t.baseUrl + path, method) };
  return t.call(method, path, { headers });
}

interface Lifecycle {
  relayId: string;
  events: EventRow[];
}

/**
 * The five events of a relay's life: created (auto mode, straight to 1), initiator started
 * (1 -> 2), receiver started (2 -> 4), an extends update, stop (4 -> 6). With several nodes,
 * each step goes to the next node in turn.
 */
async function lifecycle(nodes: TestApp[]): Promise<Lifecycle> {
  const node = (step: number) => nodes[step % nodes.length];
  const r = await relay(node(0));
  const post = (step: number, action: string, token: string, body?: unknown) =>
    node(step).call('POST', `/client/relay/${r.relayId}/${action}`, { token, body });
  expectOk(await post(1, 'started', r.init.token));
  expectOk(await post(2, 'started', r.recv.token));
  expectOk(await post(3, 'extends', r.recv.token, { extends: { topic: 'pk-night' } }));
  expectOk(await post(4, 'stop', r.init.token));
  const events = await relayEvents(nodes[0], r.relayId);
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  return { relayId: r.relayId, events };
}

interface DeliveryRow {
  id: number;
  event_id: number;
  url: string;
  status: string;
  attempts: number;
  last_error: string;
}

/** The webhook_delivery rows, read straight from the database. */
async function deliveryRows(t: TestApp): Promise<DeliveryRow[]> {
  const rows: Record<string, unknown>[] = await t.dataSource.query(
    'SELECT id, event_id, url, status, attempts, last_error FROM webhook_delivery ORDER BY id',
  );
  return rows.map((row) => ({
    id: Number(row.id),
    event_id: Number(row.event_id),
    url: String(row.url),
    status: String(row.status),
    attempts: Number(row.attempts),
    last_error: String(row.last_error),
  }));
}

/** Every request the receiver got for each event id, keyed by id. */
function byEvent(receiver: WebhookReceiver): Map<string, ReceivedRequest[]> {
  const map = new Map<string, ReceivedRequest[]>();
  for (const r of receiver.requests) {
    const id = String(r.headers['x-relay-event-id']);
    map.set(id, [...(map.get(id) ?? []), r]);
  }
  return map;
}

/** Resolves once the receiver has at least `n` requests for each of `eventIds`. */
function waitForEach(
  receiver: WebhookReceiver,
  eventIds: number[],
  n: number,
  timeoutMs = WAIT_MS,
): Promise<ReceivedRequest[]> {
  return receiver.waitUntil(
    () => eventIds.every((id) => receiver.forEvent(id).length >= n),
    timeoutMs,
    `${n} request(s) for each of events ${eventIds.join(', ')}`,
  );
}

/** Delivery latencies seen on first attempts, for test-output/. */
const latencies: { scenario: string; ms: number }[] = [];

function recordLatency(scenario: string, events: EventRow[], receiver: WebhookReceiver): void {
  for (const e of events) {
    const first = receiver.forEvent(e.id)[0];
    if (first !== undefined) latencies.push({ scenario, ms: first.receivedAt - e.occurred_at });
  }
}

/** Receivers and apps started by one scenario, closed when it ends, newest first. */
class Scope {
  private readonly closers: (() => Promise<void>)[] = [];

  async receiver(options?: ReceiverOptions): Promise<WebhookReceiver> {
    const receiver = await startWebhookReceiver(options);
    this.closers.push(() => receiver.close());
    return receiver;
  }

  async app(env: Record<string, string>): Promise<TestApp> {
    const t = await startTestApp(env);
    this.closers.push(() => t.close());
    return t;
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const close of this.closers.reverse()) await close().catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

async function scoped(work: (scope: Scope) => Promise<void>): Promise<void> {
  const scope = new Scope();
  try {
    await work(scope);
  } finally {
    await scope.close();
  }
}

describe('webhooks (docs/events.md)', () => {
  let a: WebhookReceiver;
  let b: WebhookReceiver;
  let t: TestApp;

  beforeAll(async () => {
    a = await startWebhookReceiver({ path: '/hooks/a' });
    b = await startWebhookReceiver({ path: '/hooks/b?source=relay' });
    t = await startTestApp({ ...ENV, WEBHOOK_URLS: `${a.url}, ${b.url}` });
  });
  afterAll(async () => {
    await t?.close();
    await a?.close();
    await b?.close();
    if (latencies.length > 0 && t !== undefined) {
      const sorted = (scenario?: string) =>
        latencies
          .filter((l) => scenario === undefined || l.scenario === scenario)
          .map((l) => l.ms)
          .sort((x, y) => x - y);
      const summary = (ms: number[]) => ({
        n: ms.length,
        min: ms[0],
        p50: ms[Math.floor(ms.length / 2)],
        max: ms[ms.length - 1],
      });
      const scenarios = [...new Set(latencies.map((l) => l.scenario))];
      const figures = {
        database: t.config.database.kind,
        latency_ms_occurred_at_to_post_received: Object.fromEntries(
          scenarios.map((s) => [s, summary(sorted(s))]),
        ),
      };
      const dir = join(__dirname, '..', '..', 'test-output');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `webhooks-latency-${figures.database}.json`),
        JSON.stringify(figures, null, 2),
      );
    }
  });

  let shared: Promise<Lifecycle> | undefined;
  /** One relay's life on the shared app, POSTed to both of its receivers. */
  const sharedLifecycle = () =>
    (shared ??= lifecycle([t]).then(async (l) => {
      const ids = l.events.map((e) => e.id);
      await waitForEach(a, ids, 1);
      await waitForEach(b, ids, 1);
      recordLatency('one node, healthy receivers', l.events, a);
      recordLatency('one node, healthy receivers', l.events, b);
      return l;
    }));

  describe('one node, healthy receivers', () => {
    it('POSTs every event of a relay life as its JSON event, with the event headers', async () => {
      const { relayId, events } = await sharedLifecycle();
      expect(events.map((e) => [e.type, e.data.from, e.data.to, e.data.reason])).toEqual([
        ['relay.status_changed', null, 1, ''],
        ['relay.status_changed', 1, 2, ''],
        ['relay.status_changed', 2, 4, ''],
        ['relay.extends_updated', undefined, undefined, undefined],
        ['relay.status_changed', 4, 6, 'stopped'],
      ]);
      for (const e of events) {
        const [request] = a.forEvent(e.id);
        expect(request).toMatchObject({ method: 'POST', path: '/hooks/a' });
        expect(request.headers['content-type']).toMatch(/^application\/json\b/);
        const body = JSON.parse(request.body);
        expect(Object.keys(body).sort()).toEqual(EVENT_KEYS);
        expect(body).toEqual(publicEvent(e));
        expect(body).toMatchObject({ relay_id: relayId, app_id: 'default' });
        expect(body.occurred_at).toMatch(ISO_UTC);
        expect(Date.parse(body.occurred_at)).toBe(e.occurred_at);
        expect(request.headers['x-relay-event-id']).toBe(String(e.id));
        expect(request.headers['x-relay-event-type']).toBe(e.type);
        const timestamp = String(request.headers['x-relay-timestamp']);
        expect(timestamp).toMatch(/^\d{10}$/);
        expect(Number(timestamp)).toBeLessThanOrEqual(request.receivedAt / 1000 + 1);
        expect(Number(timestamp)).toBeGreaterThanOrEqual(request.receivedAt / 1000 - 5);
      }
      expect(JSON.parse(a.forEvent(events[3].id)[0].body).data.changed).toEqual({
        topic: 'pk-night',
      });
      // The log order: ids increase, seq counts 1, 2, 3... within the relay.
      const bodies = events.map((e) => JSON.parse(a.forEvent(e.id)[0].body));
      expect(bodies.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
      expect([...bodies.map((x) => x.id)].sort((x, y) => x - y)).toEqual(bodies.map((x) => x.id));
    });

    it('signs each POST with WEBHOOK_SECRET over "<timestamp>.<raw body>"', async () => {
      const { events } = await sharedLifecycle();
      for (const e of events) {
        const { headers, body } = a.forEvent(e.id)[0];
        expect(headers['x-relay-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
        expect(verifySignature(SECRET, headers, body)).toBe(true);
        expect(verifySignature('another-secret-123', headers, body)).toBe(false);
        expect(verifySignature(SECRET, headers, body.replace('"seq":', '"seq" :'))).toBe(false);
        expect(verifySignature(SECRET, headers, `${body} `)).toBe(false);
        const otherTime = {
          ...headers,
          'x-relay-timestamp': String(Number(headers['x-relay-timestamp']) + 1),
        };
        expect(verifySignature(SECRET, otherTime, body)).toBe(false);
      }
    });

    it('POSTs each event to every URL in WEBHOOK_URLS', async () => {
      const { events } = await sharedLifecycle();
      for (const e of events) {
        const [toA] = a.forEvent(e.id);
        const [toB] = b.forEvent(e.id);
        expect(toB).toMatchObject({ method: 'POST', path: '/hooks/b?source=relay' });
        expect(JSON.parse(toB.body)).toEqual(JSON.parse(toA.body));
        expect(toB.headers['x-relay-event-type']).toBe(e.type);
        expect(verifySignature(SECRET, toB.headers, toB.body)).toBe(true);
      }
      // The outcome is recorded just after the receiver answers.
      const rows = await waitUntil('the deliveries to settle', async () => {
        const mine = (await deliveryRows(t)).filter((d) => events.some((e) => e.id === d.event_id));
        return mine.every((d) => d.status !== 'pending') ? mine : undefined;
      });
      expect(rows).toHaveLength(events.length * 2);
      expect(new Set(rows.map((d) => d.url))).toEqual(new Set([a.url, b.url]));
      expect(rows.every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
    });

    it('lists no dead letters when every receiver answered 2xx', async () => {
      await sharedLifecycle();
      const data = expectOk(await server(t, 'GET', '/server/events?status=failed'));
      expect(data).toEqual({ list: [], next_cursor: null });
    });
  });

  describe('WEBHOOK_EVENT_TYPES', () => {
    it('POSTs only the listed types and queues no delivery for the others, which are still logged and streamed', () =>
      scoped(async (scope) => {
        const receiver = await scope.receiver();
        const app = await scope.app({
          ...ENV,
          WEBHOOK_URLS: receiver.url,
          WEBHOOK_EVENT_TYPES: 'relay.extends_updated',
        });
        const { relayId, events } = await lifecycle([app]);
        const [extendsEvent] = events.filter((e) => e.type === 'relay.extends_updated');
        await receiver.waitForRequests(1);
        const rows = await waitUntil('the delivery to settle', async () => {
          const all = await deliveryRows(app);
          return all.every((d) => d.status === 'delivered') ? all : undefined;
        });
        expect(rows.map((d) => d.event_id)).toEqual([extendsEvent.id]);
        // Long enough for any other event to have been sent by the 100 ms sweep.
        await pause(500);
        expect(receiver.requests.map((r) => r.headers['x-relay-event-type'])).toEqual([
          'relay.extends_updated',
        ]);
        expect(
          verifySignature(SECRET, receiver.requests[0].headers, receiver.requests[0].body),
        ).toBe(true);
        expect(events).toHaveLength(5);
        const [first] = events;
        const stream = await openStream(app.baseUrl, '/client/relay/events', {
          token: tokenFor(app, first.data.session.init_user_id),
          lastEventId: '0',
        });
        try {
          await stream.waitFor(5);
          expect(stream.ids()).toEqual(events.map((e) => e.id));
          expect(stream.data().every((e: { relay_id: string }) => e.relay_id === relayId)).toBe(
            true,
          );
        } finally {
          stream.close();
        }
      }));
  });

  describe('dead-letter API: authentication and validation', () => {
    it('answers 401 to /server/events without a valid Qiniu signature', async () => {
      expectError(await server(t, 'GET', '/server/events?status=failed', null), 401);
      const wrongSecret: [string, string] = [t.config.serverAccessKey, 'not-the-secret-key'];
      expectError(await server(t, 'GET', '/server/events?status=failed', wrongSecret), 401);
      const wrongKey: [string, string] = ['not-the-access-key', t.config.serverSecretKey];
      expectError(await server(t, 'GET', '/server/events?status=failed', wrongKey), 401);
      const jwt = await t.call('GET', '/server/events?status=failed', {
        token: tokenFor(t, uniqueUser()),
      });
      expectError(jwt, 401);
      // Signed for one query, sent with another.
      const signedFor = qiniuSignV2(
        t.config.serverAccessKey,
        t.config.serverSecretKey,
        `${t.baseUrl}/server/events?status=failed`,
        'GET',
      );
      const moved = await t.call('GET', '/server/events?status=delivered', {
        headers: { authorization: signedFor },
      });
      expectError(moved, 401);
      expectError(await server(t, 'POST', '/server/events/1/redeliver', null), 401);
    });

    it.each([
      ['an unknown status', 'status=lost'],
      ['a list of statuses', 'status=failed,pending'],
      ['limit 0', 'limit=0'],
      ['limit 101', 'limit=101'],
      ['a non-numeric limit', 'limit=ten'],
      ['a fractional limit', 'limit=2.5'],
      ['a non-numeric cursor', 'cursor=abc'],
      ['cursor 0', 'cursor=0'],
      ['a negative cursor', 'cursor=-5'],
      ['an unknown parameter', 'status=failed&colour=red'],
    ])('answers 400 to %s (?%s)', async (_, query) => {
      expectError(await server(t, 'GET', `/server/events?${query}`), 400);
    });

    it('answers 404 to redelivering an unknown delivery id', async () => {
      expectError(await server(t, 'POST', '/server/events/987654321/redeliver'), 404);
    });

    it('answers 400 to redelivering a non-numeric delivery id', async () => {
      expectError(await server(t, 'POST', '/server/events/abc/redeliver'), 400);
      expectError(await server(t, 'POST', '/server/events/1.5/redeliver'), 400);
    });
  });

  describe('retries', () => {
    it.concurrent('counts no answer within 5 s as a failure and retries it', () =>
      scoped(async (scope) => {
        const silent = await scope.receiver({ queue: [{ hang: true }] });
        const healthy = await scope.receiver();
        const app = await scope.app({ ...ENV, WEBHOOK_URLS: `${silent.url},${healthy.url}` });
        const r = await relay(app);
        const [created] = await relayEvents(app, r.relayId);
        await silent.waitForRequests(1);
        // An event made while the other URL hangs still reaches the healthy receiver.
        expectOk(
          await app.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token }),
        );
        const events = await relayEvents(app, r.relayId);
        await waitForEach(healthy, [created.id, events[1].id], 1);
        recordLatency('one node, while another URL hangs', events, healthy);

        await waitForEach(silent, [created.id], 2);
        const [first, second] = silent.forEvent(created.id);
        expect(first.answered).toBeUndefined();
        expect(first.abandonedAt).toBeDefined();
        // A hanging receiver holds back no other delivery for its 5 s.
        expect(healthy.forEvent(events[1].id)[0].receivedAt).toBeLessThan(
          first.abandonedAt as number,
        );
        // Not sooner than the 5 s and the 1 s retry delay; how late a retry may come is a
        // matter of the sweep, checked on a fake clock in the medium tier.
        const gaveUpAfter = (first.abandonedAt as number) - first.receivedAt;
        expect(gaveUpAfter).toBeGreaterThanOrEqual(4500);
        const retriedAfter = second.receivedAt - first.receivedAt;
        expect(retriedAfter).toBeGreaterThanOrEqual(5900);
        expect(second.answered).toBe(200);
        expect(second.body).toBe(first.body);
        expect(verifySignature(SECRET, second.headers, second.body)).toBe(true);

        const row = await waitUntil('the delivery to the silent receiver to settle', async () =>
          (await deliveryRows(app)).find(
            (d) => d.event_id === created.id && d.url === silent.url && d.status !== 'pending',
          ),
        );
        expect(row).toMatchObject({ status: 'delivered', attempts: 2 });
      }),
    );

    it.concurrent('retries a 503 after 1 s, then 2 s, and delivers the same signed event', () =>
      scoped(async (scope) => {
        const receiver = await scope.receiver({ queue: [503, 503] });
        const app = await scope.app({ ...ENV, WEBHOOK_URLS: receiver.url });
        const r = await relay(app);
        const [created] = await relayEvents(app, r.relayId);
        const requests = await receiver.waitForRequests(3);
        await pause(1500); // time enough for a wrong fourth attempt to show
        expect(requests).toHaveLength(3);
        expect(requests.map((x) => x.answered)).toEqual([503, 503, 200]);
        for (const x of requests) {
          expect(x.headers['x-relay-event-id']).toBe(String(created.id));
          expect(x.body).toBe(requests[0].body);
          expect(verifySignature(SECRET, x.headers, x.body)).toBe(true);
        }
        expect(JSON.parse(requests[0].body)).toEqual(publicEvent(created));
        const gaps = [1, 2].map((i) => requests[i].receivedAt - requests[i - 1].receivedAt);
        // Not sooner than 1 s, then 2 s: each retry to the millisecond, and how late one may
        // come, are checked on a fake clock in test/medium/webhook-dispatch.medium-spec.ts.
        expect(gaps[0]).toBeGreaterThanOrEqual(950);
        expect(gaps[1]).toBeGreaterThanOrEqual(1950);
        const [row] = await deliveryRows(app);
        expect(row).toMatchObject({ event_id: created.id, status: 'delivered', attempts: 3 });
      }),
    );

    it.concurrent(
      'keeps retrying after the app restarts: the retry state lives in the database',
      () =>
        scoped(async (scope) => {
          const receiver = await scope.receiver({ queue: [503, 503] });
          const env = { ...ENV, WEBHOOK_URLS: receiver.url };
          const before = await scope.app(env);
          const r = await relay(before);
          const [created] = await relayEvents(before, r.relayId);
          const [, second] = await receiver.waitForRequests(2);
          await before.stop();
          // The third attempt falls due 2 s after the second, while no node is running.
          await pause(Math.max(0, second.receivedAt + 2300 - Date.now()));
          expect(receiver.requests).toHaveLength(2);

          const after = await scope.app({ ...env, DATABASE_URL: before.databaseUrl });
          const [, , third] = await receiver.waitForRequests(3);
          expect(third.answered).toBe(200);
          expect(third.headers['x-relay-event-id']).toBe(String(created.id));
          expect(third.body).toBe(second.body);
          expect(verifySignature(SECRET, third.headers, third.body)).toBe(true);
          const row = await waitUntil('the delivery to settle', async () =>
            (await deliveryRows(after)).find((d) => d.status !== 'pending'),
          );
          expect(row).toMatchObject({ event_id: created.id, status: 'delivered', attempts: 3 });
          await pause(500);
          expect(receiver.requests).toHaveLength(3);
        }),
    );

    it.concurrent(
      'marks a delivery failed after WEBHOOK_MAX_ATTEMPTS, lists it, and redelivers it with attempts reset',
      () =>
        scoped(async (scope) => {
          const receiver = await scope.receiver({ fallback: 500 });
          const app = await scope.app({
            ...ENV,
            WEBHOOK_URLS: receiver.url,
            WEBHOOK_MAX_ATTEMPTS: '2',
          });
          const r = await relay(app);
          const [created] = await relayEvents(app, r.relayId);
          const failedList = () => server(app, 'GET', '/server/events?status=failed');
          const listedAttempts = async (attempts: number) =>
            waitUntil(`the delivery listed as failed after ${attempts} attempts`, async () => {
              const { list } = expectOk(await failedList());
              return list.length === 1 && list[0].attempts === attempts ? list[0] : undefined;
            });

          await receiver.waitForRequests(2);
          const dead = await listedAttempts(2);
          expect(Object.keys(dead).sort()).toEqual(DELIVERY_KEYS);
          expect(dead).toEqual({
            id: expect.any(Number),
            event_id: created.id,
            url: receiver.url,
            attempts: 2,
            last_error: expect.any(String),
            status: 'failed',
            event: publicEvent(created),
          });
          expect(dead.last_error.length).toBeGreaterThan(0);
          // Failed is final: no third attempt (it would have come 2 s after the second).
          await pause(Math.max(0, receiver.requests[1].receivedAt + 2500 - Date.now()));
          expect(receiver.requests).toHaveLength(2);

          // An unsigned redeliver changes nothing.
          expectError(await server(app, 'POST', `/server/events/${dead.id}/redeliver`, null), 401);
          await pause(300);
          expect(receiver.requests).toHaveLength(2);

          // Redelivered while the receiver still fails: the attempts start again from zero,
          // so it gets WEBHOOK_MAX_ATTEMPTS more POSTs before failing again.
          expectOk(await server(app, 'POST', `/server/events/${dead.id}/redeliver`));
          await receiver.waitForRequests(4);
          expect(await listedAttempts(2)).toMatchObject({ id: dead.id, status: 'failed' });
          await pause(Math.max(0, receiver.requests[3].receivedAt + 2500 - Date.now()));
          expect(receiver.requests).toHaveLength(4);

          // Redelivered to a receiver that has recovered: delivered in one attempt.
          receiver.setFallback(200);
          expectOk(await server(app, 'POST', `/server/events/${dead.id}/redeliver`));
          const all = await receiver.waitForRequests(5);
          expect(all.map((x) => x.answered)).toEqual([500, 500, 500, 500, 200]);
          for (const x of all) {
            expect(x.headers['x-relay-event-id']).toBe(String(created.id));
            expect(JSON.parse(x.body)).toEqual(publicEvent(created));
            expect(verifySignature(SECRET, x.headers, x.body)).toBe(true);
          }
          const row = await waitUntil('the redelivered delivery to be delivered', async () =>
            (await deliveryRows(app)).find((d) => d.status === 'delivered'),
          );
          expect(row).toMatchObject({ id: dead.id, attempts: 1 });
          expect(expectOk(await failedList())).toEqual({ list: [], next_cursor: null });
        }),
    );

    it.concurrent(
      'refuses to redeliver a delivery that is still pending (601): it is retried on its own',
      () =>
        scoped(async (scope) => {
          const receiver = await scope.receiver({ fallback: 500 });
          const app = await scope.app({ ...ENV, WEBHOOK_URLS: receiver.url });
          await relay(app);
          await receiver.waitForRequests(1);
          const pending = await waitUntil(
            'the delivery listed as pending after its first attempt',
            async () => {
              const { list } = expectOk(await server(app, 'GET', '/server/events?status=pending'));
              return list.length === 1 && list[0].attempts === 1 ? list[0] : undefined;
            },
          );
          expectError(
            await server(app, 'POST', `/server/events/${pending.id}/redeliver`),
            409,
            601,
          );
          // Its own retry still comes about 1 s after the first attempt, and only one.
          await receiver.waitForRequests(2);
          await pause(500);
          expect(receiver.requests).toHaveLength(2);
        }),
    );

    it.concurrent('pages dead letters newest first with limit and next_cursor', () =>
      scoped(async (scope) => {
        const receiver = await scope.receiver({ fallback: 503 });
        const app = await scope.app({
          ...ENV,
          WEBHOOK_URLS: receiver.url,
          WEBHOOK_MAX_ATTEMPTS: '1',
        });
        const { events } = await lifecycle([app]);
        const list = async (query: string) =>
          expectOk(await server(app, 'GET', `/server/events?status=failed${query}`));
        await waitUntil('five dead letters', async () =>
          (await list('&limit=100')).list.length === 5 ? true : undefined,
        );
        const newestFirst = [...events].reverse().map((e) => e.id);

        const pages: any[] = [];
        let cursor: string | null = '';
        do {
          const page: any = await list(`&limit=2&cursor=${cursor}`);
          pages.push(page);
          cursor = page.next_cursor;
          expect(cursor === null || typeof cursor === 'string').toBe(true);
        } while (cursor !== null && pages.length < 10);
        expect(pages.map((p) => p.list.length)).toEqual([2, 2, 1]);
        const items = pages.flatMap((p) => p.list);
        expect(items.map((d) => d.event_id)).toEqual(newestFirst);
        const ids = items.map((d) => d.id);
        expect(ids).toEqual([...ids].sort((x, y) => y - x));
        expect(new Set(ids).size).toBe(5);
        for (const d of items) {
          expect(d).toMatchObject({ status: 'failed', attempts: 1, url: receiver.url });
          expect(d.event).toEqual(publicEvent(events.find((e) => e.id === d.event_id)!));
        }

        expect(await list('&limit=5')).toEqual({ list: items, next_cursor: null });
        expect(await list('')).toEqual({ list: items, next_cursor: null });
        const rest = await list(`&limit=10&cursor=${pages[0].next_cursor}`);
        expect(rest).toEqual({ list: items.slice(2), next_cursor: null });
      }),
    );

    it.concurrent('keeps relay changes working when a URL is listed twice in WEBHOOK_URLS', () =>
      scoped(async (scope) => {
        const receiver = await scope.receiver();
        const env = { ...ENV, WEBHOOK_URLS: `${receiver.url},${receiver.url}` };
        let refusal: unknown;
        const app = await scope.app(env).catch((error: unknown) => {
          refusal = error;
          return undefined;
        });
        if (app === undefined) {
          // Refusing the configuration at startup, naming the variable, would be fine too.
          expect(String(refusal)).toMatch(/WEBHOOK_URLS/);
          return;
        }
        const [init, recv] = [await anchor(app), await anchor(app)];
        const started = expectOk(
          await app.call('POST', '/client/relay/start', {
            token: init.token,
            body: {
              init_room_id: init.liveId,
              recv_room_id: recv.liveId,
              recv_user_id: recv.userId,
            },
          }),
        );
        const [created] = await relayEvents(app, started.relay_id);
        await waitForEach(receiver, [created.id], 1);
        expect(JSON.parse(receiver.forEvent(created.id)[0].body)).toEqual(publicEvent(created));
      }),
    );
  });

  describe('two nodes on one database', () => {
    const RELAYS = 6;

    /** Two apps on one database, both sending to `urls`, and RELAYS relay lives across them. */
    async function twoNodes(scope: Scope, urls: string[]) {
      const env = { ...ENV, WEBHOOK_URLS: urls.join(',') };
      const first = await scope.app(env);
      const second = await scope.app({ ...env, DATABASE_URL: first.databaseUrl });
      const lives = await Promise.all(
        Array.from({ length: RELAYS }, (_, i) =>
          lifecycle(i % 2 === 0 ? [first, second] : [second, first]),
        ),
      );
      const events = lives.flatMap((l) => l.events);
      expect(events).toHaveLength(RELAYS * 5);
      return { first, second, events, ids: events.map((e) => e.id) };
    }

    it.concurrent('POSTs each event exactly once to a 200 receiver, never once per node', () =>
      scoped(async (scope) => {
        const receiver = await scope.receiver();
        const { first, events, ids } = await twoNodes(scope, [receiver.url]);
        await waitForEach(receiver, ids, 1);
        recordLatency('two nodes, healthy receiver', events, receiver);
        await pause(1500); // longer than a retry interval and many sweep intervals
        const counts = byEvent(receiver);
        expect([...counts.keys()].sort()).toEqual(ids.map(String).sort());
        expect([...counts.values()].filter((x) => x.length !== 1)).toEqual([]);
        expect(receiver.requests).toHaveLength(ids.length);
        for (const e of events) {
          const [x] = receiver.forEvent(e.id);
          expect(JSON.parse(x.body)).toEqual(publicEvent(e));
          expect(verifySignature(SECRET, x.headers, x.body)).toBe(true);
        }
        const rows = await deliveryRows(first);
        expect(rows).toHaveLength(ids.length);
        expect(rows.filter((d) => d.status !== 'delivered' || d.attempts !== 1)).toEqual([]);
      }),
    );

    it.concurrent(
      'POSTs each event exactly twice to a receiver that answers 503 once per event',
      () =>
        scoped(async (scope) => {
          const receiver = await scope.receiver({
            respond: (request, earlier) =>
              earlier.some(
                (e) => e.headers['x-relay-event-id'] === request.headers['x-relay-event-id'],
              )
                ? 200
                : 503,
          });
          const { first, events, ids } = await twoNodes(scope, [receiver.url]);
          await waitForEach(receiver, ids, 2);
          await pause(1500);
          const counts = byEvent(receiver);
          expect([...counts.values()].filter((x) => x.length !== 2)).toEqual([]);
          expect(receiver.requests).toHaveLength(ids.length * 2);
          for (const e of events) {
            const [failed, delivered] = receiver.forEvent(e.id);
            expect([failed.answered, delivered.answered]).toEqual([503, 200]);
            expect(delivered.receivedAt - failed.receivedAt).toBeGreaterThanOrEqual(950);
            expect(delivered.body).toBe(failed.body);
            expect(verifySignature(SECRET, delivered.headers, delivered.body)).toBe(true);
          }
          const rows = await deliveryRows(first);
          expect(rows).toHaveLength(ids.length);
          expect(rows.filter((d) => d.status !== 'delivered' || d.attempts !== 2)).toEqual([]);
        }),
    );
  });
});
