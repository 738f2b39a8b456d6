/**
 * What operators and gateways rely on (docs/operations.md): readiness,
 * Prometheus metrics, JSON logs with request context and no secrets, security headers, CORS,
 * forwarded addresses, and the per-user rate limit.
 */
import { NO_TIMERS, relay, tokenFor, uniqueUser } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';

const QUIET = { ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' };

describe('operations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      ...QUIET,
      TRUST_PROXY: 'true',
      CORS_ORIGINS: 'https://app.example.com',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const lines = () => t.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('answers /readyz with 200 while the database answers', async () => {
    const answer = await t.call('GET', '/readyz');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ code: 0, data: { status: 'ready' } });
  });

  it('exposes Prometheus metrics: per-route HTTP figures and the domain figures', async () => {
    const r = await relay(t);
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token });
    await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
    await t.call('GET', '/client/relay/nope', { token: r.init.token });
    const answer = await t.call('GET', '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = answer.text;
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/client\/relay\/:relay_id",status_code="200"\} \d+/,
    );
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/client\/relay\/:relay_id",status_code="404"\} 1/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/client\/relay\/:relay_id"/,
    );
    expect(text).toMatch(/relay_transitions_total\{from="none",to="1",reason=""\} \d+/);
    expect(text).toMatch(/relay_transitions_total\{from="1",to="2",reason=""\} \d+/);
    expect(text).toMatch(/relays_active\{status="2"\} [1-9]/);
    expect(text).toMatch(/event_streams_open 0/);
    expect(text).toContain('# TYPE webhook_deliveries_total counter');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('logs JSON lines that carry the request id, user and app, and never a token', async () => {
    const user = uniqueUser();
    const token = tokenFor(t, user, { appId: 'logs_app' });
    const answer = await t.call('POST', '/client/live/room/instance', {
      token,
      body: { title: 'logged' },
      headers: { 'x-request-id': 'trace-logs-1' },
    });
    expect(answer.status).toBe(200);
    const mine = lines().filter((l) => l.request_id === 'trace-logs-1');
    expect(mine.length).toBeGreaterThan(0);
    for (const line of mine) {
      expect(line).toMatchObject({ user_id: user, app_id: 'logs_app' });
      expect(typeof line.time).toBe('string');
      expect(typeof line.level).toBe('string');
    }
    expect(mine.find((l) => l.msg === 'request')).toMatchObject({
      method: 'POST',
      route: '/client/live/room/instance',
      status: 200,
    });
    const r = await relay(t);
    await t.call('GET', `/client/relay/${r.relayId}/token?access_token=${r.init.token}`, {
      token: r.init.token,
    });
    const all = t.logs.join('\n');
    for (const secret of [token, r.init.token, r.started.relay_token, t.config.jwtSecret]) {
      expect(all).not.toContain(secret);
    }
  });

  it('sends security headers', async () => {
    const answer = await t.call('GET', '/healthz');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(answer.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('allows the configured browser origins, and only them', async () => {
    const preflight = (origin: string) =>
      t.call('OPTIONS', '/client/relay/start', {
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    const allowed = await preflight('https://app.example.com');
    expect(allowed.status).toBeLessThan(300);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const other = await preflight('https://evil.example.com');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await t.call('GET', '/healthz', {
      headers: { origin: 'https://app.example.com' },
    });
    expect(simple.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
  });

  it('believes X-Forwarded-For with TRUST_PROXY, and logs the client address', async () => {
    await t.call('GET', '/client/relay?limit=1', {
      token: tokenFor(t, uniqueUser()),
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'trace-proxy-1' },
    });
    const line = lines().find((l) => l.request_id === 'trace-proxy-1' && l.msg === 'request');
    expect(line?.ip).toBe('203.0.113.7');
  });
});

describe('without TRUST_PROXY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(QUIET);
  });
  afterAll(async () => {
    await t.close();
  });

  it('ignores X-Forwarded-For and sends no CORS headers', async () => {
    const answer = await t.call('GET', '/healthz', {
      headers: {
        'x-forwarded-for': '203.0.113.7',
        'x-request-id': 'trace-direct-1',
        origin: 'https://a.example.com',
      },
    });
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    await t.call('GET', '/client/relay?limit=1', {
      token: tokenFor(t, uniqueUser()),
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'trace-direct-2' },
    });
    const line = t.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.request_id === 'trace-direct-2' && l.msg === 'request');
    expect(line.ip).toBe('127.0.0.1');
  });
});

describe('per-user rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...QUIET, RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 429 in the envelope past RATE_LIMIT_PER_MINUTE, per user', async () => {
    const busy = tokenFor(t, uniqueUser());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await t.call('GET', '/client/relay', { token: busy })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await t.call('GET', '/client/relay', { token: busy });
    expect(limited.body).toMatchObject({ code: 429 });
    expect(limited.body.message).toMatch(/3 requests a minute/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(
      (await t.call('GET', '/client/relay', { token: tokenFor(t, uniqueUser()) })).status,
    ).toBe(200);
  });
});
