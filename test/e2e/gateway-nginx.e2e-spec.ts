/**
 * The service behind a real nginx (the Debian package, /usr/sbin/nginx), mounted under /relay/
 * with docs/gateway/nginx.conf, the configuration docs/operations.md shows. nginx runs as a
 * child of this spec, in the foreground, with its own prefix, configuration, pid and logs in a
 * temporary folder and a free port. Two changes to the shown file, made here and checked to
 * apply: its stream read timeout is 3 s instead of an hour (so that outliving it takes seconds,
 * with keep-alive comments every 2 s), and a copy under /cut/ with a 1 s timeout stands for a
 * gateway that cuts streams.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { NO_TIMERS, relay, RelayFixture, tokenFor, uniqueUser } from '../factories';
import { codeBlocks, readRepoFile, section } from '../utils/markdown';
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { Spawned, spawnProcess, unusedPort } from '../utils/spawned-process';
import { SseClient, SseMessage } from '../utils/sse-client';
import { startTestApp, TestApp } from '../utils/test-app';

const NGINX = '/usr/sbin/nginx';
const SHOWN = 'docs/gateway/nginx.conf';
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE}-b7ad6b7169203331-01`;

/** `text` with `from` replaced by `to`, failing when `from` is not there to replace. */
function changed(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`${SHOWN} no longer contains "${from}"`);
  return text.split(from).join(to);
}

/** Resolves once `check` holds, looking every 50 ms; rejects after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('behind nginx under /relay/ (docs/gateway/nginx.conf)', () => {
  let t: TestApp;
  let nginx: Spawned;
  let dir: string;
  let gateway: string;

  const call = async (
    method: string,
    path: string,
    options: { token?: string; body?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const answer = await fetch(gateway + path, { method, headers, body: options.body });
    const text = await answer.text();
    const json = (answer.headers.get('content-type') ?? '').includes('json');
    return {
      status: answer.status,
      headers: answer.headers,
      text,
      body: json ? JSON.parse(text) : text,
    };
  };
  const lines = () => t.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    t = await startTestApp({
      ...NO_TIMERS,
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
      TRUST_PROXY: '127.0.0.1',
      STREAM_KEEPALIVE_S: '2',
    });
    dir = mkdtempSync(join(tmpdir(), 'relay-nginx-'));
    const port = await unusedPort();
    gateway = `http://127.0.0.1:${port}`;
    const shown = readRepoFile(SHOWN);
    const relayConf = changed(shown, 'proxy_read_timeout 3600s;', 'proxy_read_timeout 3s;');
    const cutConf = changed(
      changed(changed(shown, 'location /relay/', 'location /cut/'), 'Prefix /relay', 'Prefix /cut'),
      'proxy_read_timeout 3600s;',
      'proxy_read_timeout 1s;',
    );
    writeFileSync(join(dir, 'relay.conf'), relayConf);
    writeFileSync(join(dir, 'cut.conf'), cutConf);
    const appPort = new URL(t.baseUrl).port;
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        // As root, nginx would hand its workers to "nobody", who cannot use this folder.
        userInfo().uid === 0 ? 'user root;' : '',
        'worker_processes 1;',
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log info;`,
        'events { worker_connections 256; }',
        'http {',
        "  log_format relay '$request_id $status $request_uri';",
        `  access_log ${dir}/access.log relay;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (kind) => `  ${kind}_temp_path ${dir}/${kind};`,
        ),
        `  upstream relay_service { server 127.0.0.1:${appPort}; keepalive 4; }`,
        '  server {',
        `    listen 127.0.0.1:${port};`,
        `    include ${dir}/relay.conf;`,
        `    include ${dir}/cut.conf;`,
        '  }',
        '}',
      ].join('\n'),
    );
    nginx = spawnProcess(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr']);
    await until(
      () =>
        call('GET', '/relay/healthz').then(
          (a) => a.status === 200,
          () => false,
        ),
      'answer from nginx',
    );
  });

  afterAll(async () => {
    if (nginx !== undefined) {
      nginx.child.kill('SIGQUIT');
      await nginx.exited;
    }
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the configuration docs/operations.md shows', () => {
    const shown = codeBlocks(
      section(readRepoFile('docs/operations.md'), 'Behind an API gateway'),
      'nginx',
    );
    expect(shown.map((block) => block.trimEnd())).toContain(readRepoFile(SHOWN).trimEnd());
  });

  it("serves a client call with a JWT, under nginx's request id and the caller's trace", async () => {
    const token = tokenFor(t, uniqueUser());
    const answer = await call('POST', '/relay/client/live/room/instance', {
      token,
      body: JSON.stringify({ title: 'through nginx' }),
      headers: { traceparent: TRACEPARENT, 'x-request-id': 'the-client-s-own' },
    });
    expect(answer.status).toBe(200);
    const id = answer.body.request_id as string;
    // nginx's $request_id replaced the client's, and is the service's.
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(answer.headers.get('x-request-id')).toBe(id);
    await until(
      () => readFileSync(join(dir, 'access.log'), 'utf8').includes(`${id} 200`),
      'access log line',
    );
    const [, traceId, spanId] = (answer.headers.get('traceparent') ?? '').split('-');
    expect(traceId).toBe(TRACE);
    const line = lines().find((l) => l.request_id === id && l.msg === 'request');
    expect(line).toMatchObject({ trace_id: TRACE, span_id: spanId, ip: '127.0.0.1' });
  });

  it("verifies server calls the qiniu SDK signed over the gateway's URL", async () => {
    const r = await relay(t);
    const { serverAccessKey: ak, serverSecretKey: sk } = t.config;
    const getPath = `/relay/server/relay/${r.relayId}`;
    const got = await call('GET', getPath, {
      headers: { authorization: qiniuSignV2(ak, sk, gateway + getPath, 'GET') },
    });
    expect(got.status).toBe(200);
    expect(got.body.data.relay_id).toBe(r.relayId);
    const scorePath = `/relay/server/relay/${r.relayId}/score`;
    const body = JSON.stringify({ room_id: r.init.liveId, delta: 5, score_id: 'nginx-gift-1' });
    const scored = await call('POST', scorePath, {
      body,
      headers: {
        authorization: qiniuSignV2(ak, sk, gateway + scorePath, 'POST', 'application/json', body),
      },
    });
    expect(scored.status).toBe(200);
    expect(scored.body.data.scores[r.init.liveId]).toBe(5);
    const forged = await call('GET', getPath, {
      headers: { authorization: qiniuSignV2(ak, 'another-secret-key', gateway + getPath, 'GET') },
    });
    expect(forged.status).toBe(401);
  });

  it('serves Swagger UI and the OpenAPI document under /relay/, pointing at /relay', async () => {
    const page = await call('GET', '/relay/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('./docs/swagger-ui-init.js');
    const init = await call('GET', '/relay/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.text).toContain(`"url": "${gateway}/relay"`);
    const doc = await call('GET', '/relay/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.servers[0].url).toBe(`${gateway}/relay`);
    expect(doc.body.paths['/client/relay/start']).toBeDefined();
  });

  /** Opens `prefix`'s event stream of the relay's initiator, resuming after `lastEventId`. */
  const stream = (prefix: string, r: RelayFixture, lastEventId?: string) =>
    SseClient.connect(gateway, `${prefix}/client/relay/events`, {
      query: { access_token: r.init.token },
      lastEventId,
    });
  // A stream opened without Last-Event-ID starts where its node's feed is, which may be just
  // before the relay's first event: the frame a test resumes from is picked by what it says.
  const movedTo = (status: number) => (m: SseMessage) =>
    (JSON.parse(m.data) as { data: { to?: number } }).data.to === status;
  const act = async (r: RelayFixture, action: 'started' | 'stop', who: 'init' | 'recv') => {
    const answer = await call('POST', `/relay/client/relay/${r.relayId}/${action}`, {
      token: r[who].token,
    });
    expect(answer.status).toBe(200);
  };

  it('streams events without buffering, and resumes a stream with Last-Event-ID', async () => {
    const r = await relay(t);
    const first = await stream('/relay', r);
    try {
      expect(first.status).toBe(200);
      // nginx acts on the service's X-Accel-Buffering: no and, as for every X-Accel-* header,
      // does not pass it on (gateway-headers.e2e-spec sees it straight from the service).
      expect(first.headers['x-accel-buffering']).toBeUndefined();
      expect(first.headers['cache-control']).toMatch(/no-cache/);
      await act(r, 'started', 'init');
      const seen = await first.next(movedTo(2));
      first.close();
      await act(r, 'started', 'recv');
      const resumed = await stream('/relay', r, seen.lastEventId);
      try {
        const [missed] = await resumed.waitFor(1);
        expect(Number(missed.id)).toBeGreaterThan(Number(seen.id));
        expect(JSON.parse(missed.data)).toMatchObject({ relay_id: r.relayId, data: { to: 4 } });
      } finally {
        resumed.close();
      }
    } finally {
      first.close();
    }
  });

  it("stays open past nginx's 3 s read timeout on keep-alive comments alone", async () => {
    const r = await relay(t);
    const s = await stream('/relay', r);
    try {
      // Three comments 2 s apart: the stream has been idle for more than 4 s, past the timeout.
      await until(() => s.comments.length >= 3 || s.ended, 'three keep-alive comments', 10_000);
      expect(s.ended).toBe(false);
      expect(s.comments[2].at - s.connectedAt).toBeGreaterThan(3000);
      await act(r, 'started', 'init');
      await s.waitFor(1);
    } finally {
      s.close();
    }
  });

  it('gets the events a cut stream missed by reconnecting with Last-Event-ID', async () => {
    const r = await relay(t);
    const s = await stream('/cut', r);
    await act(r, 'started', 'init');
    const seen = await s.next(movedTo(2));
    // The "gateway" cuts the stream once it has been quiet for 1 s, before a keep-alive comes.
    await s.waitForEnd(5000);
    await act(r, 'started', 'recv');
    await act(r, 'stop', 'init');
    const resumed = await stream('/cut', r, seen.lastEventId);
    try {
      const missed = await resumed.waitFor(2);
      expect(missed.map((m) => JSON.parse(m.data).data.to)).toEqual([4, 6]);
      expect(Number(missed[0].id)).toBeGreaterThan(Number(seen.id));
    } finally {
      resumed.close();
    }
  });
});
