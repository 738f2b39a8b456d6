/**
 * Behind a gateway (docs/operations.md, "Behind an API gateway"): what a trusted proxy says
 * about the caller (Forwarded, X-Forwarded-*), W3C trace context on answers, log lines and
 * webhooks, the gateway's request id, the IETF RateLimit headers and the stream's proxy headers;
 * and that an untrusted sender's forwarding headers change nothing. test/e2e/gateway-nginx runs
 * the same through a real nginx.
 */
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { NO_TIMERS, relay, serverCall, tokenFor, uniqueUser } from '../factories';
import { SseClient } from '../utils/sse-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { startWebhookReceiver, WebhookReceiver } from '../utils/webhook-receiver';

const QUIET = { ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${CALLER_SPAN}-01`;
const GATEWAY = {
  'x-forwarded-host': 'gw.example.com',
  'x-forwarded-proto': 'https',
  'x-forwarded-prefix': '/relay',
};

type Line = Record<string, unknown>;
const linesOf = (t: TestApp) => t.logs.map((line) => JSON.parse(line) as Line);

/** A GET of the server API signed by the qiniu SDK over `url`, sent to `t` with `headers`. */
function signedGet(t: TestApp, url: string, path: string, headers: Record<string, string> = {}) {
  const authorization = qiniuSignV2(t.config.serverAccessKey, t.config.serverSecretKey, url, 'GET');
  return t.call('GET', path, { headers: { ...headers, authorization } });
}

describe('behind a trusted gateway', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await startTestApp({
      ...QUIET,
      TRUST_PROXY: '127.0.0.1',
      REQUEST_ID_HEADER: 'Kong-Request-ID',
      RATE_LIMIT_PER_MINUTE: '1000',
      WEBHOOK_URLS: receiver.url,
    });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('verifies a server call signed over the gateway URL, and the same call made directly', async () => {
    const r = await relay(t);
    const path = `/server/relay/${r.relayId}`;
    const viaGateway = await signedGet(t, `https://gw.example.com/relay${path}`, path, GATEWAY);
    expect(viaGateway.status).toBe(200);
    expect(viaGateway.body.data.relay_id).toBe(r.relayId);
    const direct = await signedGet(t, t.baseUrl + path, path);
    expect(direct.status).toBe(200);
    // The gateway's signature does not verify without the gateway's word on the URL.
    const unproxied = await signedGet(t, `https://gw.example.com/relay${path}`, path);
    expect(unproxied.status).toBe(401);
    // Nor for another prefix than the one signed.
    const otherPrefix = await signedGet(t, `https://gw.example.com/relay${path}`, path, {
      ...GATEWAY,
      'x-forwarded-prefix': '/other',
    });
    expect(otherPrefix.status).toBe(401);
  });

  it('verifies a signature over the URL of an RFC 7239 Forwarded host', async () => {
    const r = await relay(t);
    const path = `/server/relay/${r.relayId}`;
    const answer = await signedGet(t, `https://api.example.com${path}`, path, {
      forwarded: 'for=198.51.100.4;proto=https;host=api.example.com',
    });
    expect(answer.status).toBe(200);
  });

  it('logs the client address of Forwarded and of X-Forwarded-For', async () => {
    const token = tokenFor(t, uniqueUser());
    await t.call('GET', '/client/relay?limit=1', {
      token,
      headers: { forwarded: 'for="[2001:db8::7]:4711";proto=https', 'kong-request-id': 'fwd-1' },
    });
    await t.call('GET', '/client/relay?limit=1', {
      token,
      headers: { 'x-forwarded-for': '203.0.113.8', 'kong-request-id': 'fwd-2' },
    });
    const ip = (id: string) =>
      linesOf(t).find((l) => l.request_id === id && l.msg === 'request')?.ip;
    expect(ip('fwd-1')).toBe('2001:db8::7');
    expect(ip('fwd-2')).toBe('203.0.113.8');
  });

  it('shows the OpenAPI servers as the caller reached the service', async () => {
    const viaGateway = await t.call('GET', '/docs-json', { headers: GATEWAY });
    expect(viaGateway.body.servers).toEqual([
      { url: 'https://gw.example.com/relay', description: expect.any(String) },
    ]);
    const direct = await t.call('GET', '/docs-json');
    expect(direct.body.servers).toEqual([{ url: t.baseUrl, description: expect.any(String) }]);
    const init = await t.call('GET', '/docs/swagger-ui-init.js', {
      headers: GATEWAY,
      unchecked: true,
    });
    expect(init.text).toContain('"url": "https://gw.example.com/relay"');
  });

  it("keeps the caller's trace: the answer, the log lines and the webhooks it causes", async () => {
    const token = tokenFor(t, uniqueUser());
    const answer = await t.call('POST', '/client/live/room/instance', {
      token,
      body: { title: 'traced' },
      headers: { traceparent: TRACEPARENT, 'kong-request-id': 'kong-trace-1' },
    });
    expect(answer.status).toBe(200);
    const [, traceId, spanId, flags] = (answer.headers.get('traceparent') ?? '').split('-');
    expect(traceId).toBe(TRACE);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe(CALLER_SPAN);
    expect(flags).toBe('01');
    const mine = linesOf(t).filter((l) => l.request_id === 'kong-trace-1');
    expect(mine.length).toBeGreaterThan(0);
    for (const line of mine) expect(line).toMatchObject({ trace_id: TRACE, span_id: spanId });

    const r = await relay(t);
    const started = await t.call('POST', `/client/relay/${r.relayId}/started`, {
      token: r.init.token,
      headers: { traceparent: TRACEPARENT },
    });
    expect(started.status).toBe(200);
    const [, , startedSpan] = (started.headers.get('traceparent') ?? '').split('-');
    const events = (
      await t.call('GET', `/client/relay/${r.relayId}/events`, { token: r.init.token })
    ).body.data.list as { id: number }[];
    const last = events[events.length - 1];
    const [post] = await receiver.waitUntil((all) =>
      all.some((q) => q.headers['x-relay-event-id'] === String(last.id)),
    );
    expect(receiver.forEvent(last.id)[0].headers.traceparent).toBe(`00-${TRACE}-${startedSpan}-01`);
    expect(post.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('gives each gift of a batch committed together the trace of its own request', async () => {
    // On MariaDB gifts that arrive together share transactions (relay-score-batch.e2e-spec);
    // on SQLite each has its own, and the rule holds all the same.
    const r = await relay(t);
    const traces = Array.from({ length: 30 }, (_, i) => `${TRACE.slice(0, 30)}${10 + i}`);
    const answers = await Promise.all(
      traces.map((trace, i) =>
        serverCall(
          t,
          'POST',
          `/server/relay/${r.relayId}/score`,
          { room_id: r.init.liveId, delta: 1, score_id: `traced-gift-${i}` },
          { headers: { traceparent: `00-${trace}-${CALLER_SPAN}-01` } },
        ),
      ),
    );
    for (const answer of answers) expect(answer.status).toBe(200);
    const gifts = () =>
      receiver.requests.filter((q) => {
        const event = JSON.parse(q.body) as { type: string; relay_id: string };
        return event.type === 'relay.score_changed' && event.relay_id === r.relayId;
      });
    await receiver.waitUntil(() => gifts().length >= traces.length);
    const byScoreId = new Map(
      gifts().map((q) => [
        (JSON.parse(q.body) as { data: { score_id: string } }).data.score_id,
        q.headers.traceparent,
      ]),
    );
    traces.forEach((trace, i) => {
      const [, answered] = (answers[i].headers.get('traceparent') ?? '').split(
        /-(?=[0-9a-f]{16}-)/,
      );
      expect(byScoreId.get(`traced-gift-${i}`)).toBe(`00-${trace}-${answered}`);
    });
  });

  it('starts a trace for a request without a valid traceparent', async () => {
    const answers = await Promise.all(
      [undefined, `00-${TRACE.toUpperCase()}-${CALLER_SPAN}-01`].map((traceparent) =>
        t.call('GET', '/healthz', { headers: traceparent ? { traceparent } : {} }),
      ),
    );
    const traces = answers.map((a) => (a.headers.get('traceparent') ?? '').split('-')[1]);
    for (const trace of traces) expect(trace).toMatch(/^[0-9a-f]{32}$/);
    expect(traces).not.toContain(TRACE);
    expect(traces[0]).not.toBe(traces[1]);
  });

  it("takes the gateway's request id from REQUEST_ID_HEADER into the envelope and the logs", async () => {
    const id = 'f0b6c8b0-8a9e-4c0e-9d1b-6a1e2e3f4a5b#7';
    const answer = await t.call('GET', '/client/relay/nope', {
      token: tokenFor(t, uniqueUser()),
      headers: { 'kong-request-id': id, 'x-request-id': 'not-this-one' },
    });
    expect(answer.status).toBe(404);
    expect(answer.body.request_id).toBe(id);
    expect(answer.headers.get('x-request-id')).toBe(id);
    expect(linesOf(t).find((l) => l.request_id === id && l.msg === 'request')).toBeDefined();
    const other = await t.call('GET', '/healthz', { headers: { 'x-request-id': 'not-this-one' } });
    expect(other.body.request_id).not.toBe('not-this-one');
  });

  it('answers the IETF RateLimit headers besides X-RateLimit-*', async () => {
    const answer = await t.call('GET', '/client/relay?limit=1', {
      token: tokenFor(t, uniqueUser()),
    });
    expect(answer.headers.get('ratelimit-policy')).toBe('"per-user";q=1000;w=60');
    expect(answer.headers.get('ratelimit')).toMatch(/^"per-user";r=999;t=\d+$/);
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('999');
  });

  it('opens streams with the headers that stop proxies buffering them', async () => {
    const s = await SseClient.connect(t.baseUrl, '/client/relay/events', {
      token: tokenFor(t, uniqueUser()),
      headers: { traceparent: TRACEPARENT },
    });
    try {
      expect(s.status).toBe(200);
      expect(s.headers['x-accel-buffering']).toBe('no');
      expect(s.headers['cache-control']).toMatch(/(^|, *)no-cache(,|$)/);
      expect(s.headers.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    } finally {
      s.close();
    }
  });
});

describe('forwarding headers from an untrusted sender', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...QUIET, TRUST_PROXY: '10.9.9.9' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('change neither the signature check, nor the client address, nor the servers shown', async () => {
    const r = await relay(t);
    const path = `/server/relay/${r.relayId}`;
    const spoofed = await signedGet(t, `https://gw.example.com/relay${path}`, path, {
      ...GATEWAY,
      forwarded: 'for=198.51.100.4;proto=https;host=gw.example.com',
    });
    expect(spoofed.status).toBe(401);
    expect((await signedGet(t, t.baseUrl + path, path, GATEWAY)).status).toBe(200);

    await t.call('GET', '/client/relay?limit=1', {
      token: tokenFor(t, uniqueUser()),
      headers: {
        'x-forwarded-for': '203.0.113.7',
        forwarded: 'for=203.0.113.9',
        'x-request-id': 'spoof-1',
      },
    });
    const line = linesOf(t).find((l) => l.request_id === 'spoof-1' && l.msg === 'request');
    expect(line?.ip).toBe('127.0.0.1');

    const docs = await t.call('GET', '/docs-json', { headers: GATEWAY });
    expect(docs.body.servers[0].url).toBe(t.baseUrl);
  });
});
