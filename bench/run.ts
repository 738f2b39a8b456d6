/**
 * `npm run bench`: builds, then runs our server (dist/main.js) against the ceiling
 * (bench/ceiling.ts) on MariaDB, three scenarios, a table on stdout and bench/results.json.
 * See bench/README.md.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ModuleKind, ScriptTarget, transpileModule } from 'typescript';
import { createConnection } from 'mysql2/promise';
import { BENCH_KEYS, clientToken } from './common';

const USAGE = `Usage: npm run bench

Builds the service, then measures it against a bare Fastify + mysql2 ceiling on MariaDB/MySQL
(user root without password): a table on stdout and bench/results.json, about 75 s.
See bench/README.md. Settings are environment variables:

  BENCH_DB_HOST      database host:port (default 127.0.0.1:3306)
  BENCH_DB_NAME      database created and dropped by the run (default relay_bench)
  BENCH_CONNECTIONS  concurrent connections (default 32)
  BENCH_WARMUP_S     warm-up seconds of each measurement (default 3)
  BENCH_DURATION_S   measured seconds (default 12)
  BENCH_SUBSCRIBERS  event streams of the fan-out scenario (default 5000)
`;

const DB_HOST = process.env.BENCH_DB_HOST ?? '127.0.0.1:3306';
const DB_NAME = process.env.BENCH_DB_NAME ?? 'relay_bench';
const DATABASE_URL = `mysql://root@${DB_HOST}/${DB_NAME}`;
const OURS_PORT = 18080;
const CEILING_PORT = 18090;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 12);
const SEEDED = 100_000;
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 5000);
const ROOT = join(__dirname, '..');

interface Figures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  rss_mb: number;
  errors?: number;
  subscribers?: number;
}

interface Result {
  scenario: 'read' | 'lifecycle' | 'fanout';
  ours: Figures;
  ceiling: Figures | null;
  ratio: number | null;
}

interface Target {
  name: 'ours' | 'ceiling';
  port: number;
  child: ChildProcess;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Samples a process's RSS while `work` runs; answers the work's result and the peak. */
async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<[T, number]> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
  try {
    const result = await work();
    return [result, Math.max(peak, rssMb(pid))];
  } finally {
    clearInterval(timer);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---------------------------------------------------------------- processes and database

const SERVER_ENV = {
  DATABASE_URL,
  LOG_LEVEL: 'warn',
  RELAY_INVITE_TIMEOUT_S: '0',
  RELAY_JOIN_TIMEOUT_S: '0',
  ROOM_HEARTBEAT_TIMEOUT_S: '0',
  TZ: 'UTC',
  JWT_SECRET: BENCH_KEYS.jwtSecret,
  QINIU_ACCESS_KEY: BENCH_KEYS.qiniuAccessKey,
  QINIU_SECRET_KEY: BENCH_KEYS.qiniuSecretKey,
  QINIU_RTC_APP_ID: BENCH_KEYS.rtcAppId,
};

function startProcess(args: string[], port: number): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...SERVER_ENV, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) log(`!! ${args.join(' ')} exited early (${code ?? signal})`);
  });
  return child;
}

async function waitForPort(port: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const up = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/client/relay/none' }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(250);
  }
  throw new Error(`nothing answered on port ${port}`);
}

async function admin(sql: string): Promise<void> {
  const [host, port] = DB_HOST.split(':');
  const c = await createConnection({ host, port: Number(port), user: 'root' });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** 100,000 finished-looking sessions, inserted 2,000 rows per statement. */
async function seed(): Promise<void> {
  const [host, port] = DB_HOST.split(':');
  const c = await createConnection({ host, port: Number(port), user: 'root', database: DB_NAME });
  try {
    const now = Date.now();
    const batch = 2000;
    for (let from = 0; from < SEEDED; from += batch) {
      const values: unknown[][] = [];
      for (let n = from; n < from + batch; n++) {
        const t = now - (SEEDED - n) * 1000;
        const rooms = [
          [`seed_room_a_${n}`, `seed_a_${n % 1000}`, 'init'],
          [`seed_room_b_${n}`, `seed_b_${n % 1000}`, 'recv'],
        ].map(([roomId, userId, role]) => ({
          roomId,
          userId,
          role,
          state: 'joined',
          reason: '',
          agreedAt: t,
        }));
        values.push([
          `relay_bench_${n}`,
          JSON.stringify(rooms),
          'default',
          `seed_a_${n % 1000}`,
          `seed_room_a_${n}`,
          `seed_b_${n % 1000}`,
          `seed_room_b_${n}`,
          4,
          '',
          null,
          '{"level":"gold"}',
          4,
          t,
          null,
          null,
          t,
          t,
        ]);
      }
      await c.query(
        'INSERT INTO relay_session (relay_id, rooms_json, app_id, init_user_id, init_room_id, recv_user_id, ' +
          'recv_room_id, status, stop_reason, duration_s, extends_json, version, start_at, stop_at, ' +
          'deadline_at, created_at, updated_at) VALUES ?',
        [values],
      );
    }
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- plain HTTP client

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function call(
  port: number,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: { code: number; data?: Record<string, unknown> } }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A live room of `userId`, made through the API of the server under test. */
async function liveRoom(port: number, userId: string): Promise<string> {
  const token = clientToken(userId);
  const created = await call(port, 'POST', '/client/live/room/instance', token, { title: 'bench' });
  const liveId = created.json.data?.live_id;
  if (typeof liveId !== 'string') throw new Error(`room create failed: ${JSON.stringify(created)}`);
  const live = await call(port, 'PUT', `/client/live/room/${liveId}`, token);
  if (live.json.code !== 0) throw new Error(`room start failed: ${JSON.stringify(live)}`);
  return liveId;
}

// ---------------------------------------------------------------- scenarios

function figures(r: autocannon.Result, rss: number): Figures {
  return {
    rps: round(r.requests.average, 1),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    rss_mb: round(rss, 1),
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

async function measure(
  t: Target,
  label: string,
  options: (phase: 'warmup' | 'measured') => Promise<autocannon.Options>,
): Promise<Figures> {
  await autocannon(await options('warmup'));
  const [result, rss] = await withPeakRss(t.child.pid as number, async () =>
    autocannon(await options('measured')),
  );
  const f = figures(result, rss);
  log(`   ${label} ${t.name}: ${JSON.stringify(f)}`);
  return f;
}

function readScenario(t: Target): Promise<Figures> {
  const tokens = Array.from({ length: 16 }, (_, i) => `Bearer ${clientToken(`reader_${i}`)}`);
  return measure(t, 'read', async (phase) => ({
    url: `http://127.0.0.1:${t.port}`,
    connections: CONNECTIONS,
    duration: phase === 'warmup' ? WARMUP_S : DURATION_S,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/client/relay/relay_bench_${Math.floor(Math.random() * SEEDED)}`,
          headers: { authorization: tokens[Math.floor(Math.random() * tokens.length)] },
        }),
      },
    ],
  }));
}

interface Pair {
  a: string;
  b: string;
  roomA: string;
  roomB: string;
  tokenA: string;
  tokenB: string;
}

interface LifecycleContext {
  pair?: Pair;
  relayId?: string;
}

let pairSerial = 0;

async function makePairs(port: number, count: number): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    const n = pairSerial++;
    const a = `anchor_a_${n}`;
    const b = `anchor_b_${n}`;
    const [roomA, roomB] = await Promise.all([liveRoom(port, a), liveRoom(port, b)]);
    pairs.push({ a, b, roomA, roomB, tokenA: clientToken(a), tokenB: clientToken(b) });
  }
  return pairs;
}

/**
 * Each autocannon connection holds one anchor pair per pass (fresh pairs for the warm-up and
 * the measured run, so a sequence cut off by the end of a run never blocks the next) and loops
 * start (auto), token, started (init), started (recv), extends, stop.
 */
function lifecycleScenario(t: Target): Promise<Figures> {
  return measure(t, 'lifecycle', async (phase) => {
    const pairs = await makePairs(t.port, CONNECTIONS);
    // autocannon gives each connection a fresh context at every pass over the sequence, so a
    // pair is taken from this pool at start and handed back when its stop is answered.
    const free = [...pairs];
    let score = 0;
    const json = (token: string) => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    });
    const bare = (token: string) => ({ authorization: `Bearer ${token}` });
    const ctx = (c: unknown) => c as LifecycleContext;
    const pairOf = (c: unknown): Pair => ctx(c).pair as Pair;
    const idOf = (c: unknown) => ctx(c).relayId ?? 'missing';
    return {
      url: `http://127.0.0.1:${t.port}`,
      connections: CONNECTIONS,
      duration: phase === 'warmup' ? WARMUP_S : DURATION_S,
      requests: [
        {
          method: 'POST',
          setupRequest: (req, c) => {
            const p = (ctx(c).pair = free.pop() ?? pairs[0]);
            return {
              ...req,
              path: '/client/relay/start',
              headers: json(p.tokenA),
              body: JSON.stringify({
                init_room_id: p.roomA,
                recv_room_id: p.roomB,
                recv_user_id: p.b,
                mode: 'auto',
              }),
            };
          },
          onResponse: (_status, body, c) => {
            try {
              const parsed = JSON.parse(body) as { data?: { relay_id?: string } };
              ctx(c).relayId = parsed.data?.relay_id;
            } catch {
              ctx(c).relayId = undefined;
            }
          },
        },
        {
          method: 'GET',
          setupRequest: (req, c) => ({
            ...req,
            path: `/client/relay/${idOf(c)}/token`,
            headers: bare(pairOf(c).tokenA),
          }),
        },
        {
          method: 'POST',
          setupRequest: (req, c) => ({
            ...req,
            path: `/client/relay/${idOf(c)}/started`,
            headers: bare(pairOf(c).tokenA),
          }),
        },
        {
          method: 'POST',
          setupRequest: (req, c) => ({
            ...req,
            path: `/client/relay/${idOf(c)}/started`,
            headers: bare(pairOf(c).tokenB),
          }),
        },
        {
          method: 'POST',
          setupRequest: (req, c) => ({
            ...req,
            path: `/client/relay/${idOf(c)}/extends`,
            headers: json(pairOf(c).tokenB),
            body: JSON.stringify({ extends: { score: String(++score) } }),
          }),
        },
        {
          method: 'POST',
          setupRequest: (req, c) => ({
            ...req,
            path: `/client/relay/${idOf(c)}/stop`,
            headers: bare(pairOf(c).tokenA),
          }),
          onResponse: (_status, _body, c) => {
            free.push(pairOf(c));
          },
        },
      ],
    };
  });
}

/** Opens one SSE stream; `onEvent` is called at the arrival of each message with an id. */
function subscribe(
  port: number,
  path: string,
  token: string,
  sseAgent: http.Agent,
  onEvent: () => void,
): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: sseAgent,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`stream answered ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (message.startsWith('id:') || message.includes('\nid:')) onEvent();
          }
        });
        resolve(req);
      },
    );
    req.on('error', reject);
  });
}

async function fanoutScenario(t: Target): Promise<Figures> {
  const [pair] = await makePairs(t.port, 1);
  const viewer = clientToken('viewer');
  const sseAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  let t0 = 0;
  let arrivals: number[] = [];
  const onEvent = () => arrivals.push(performance.now() - t0);
  const streams: http.ClientRequest[] = [];
  const path = `/client/relay/events?room_id=${pair.roomA}`;
  const opened = performance.now();
  for (let i = 0; i < SUBSCRIBERS; i += 250) {
    const batch = Math.min(250, SUBSCRIBERS - i);
    streams.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => subscribe(t.port, path, viewer, sseAgent, onEvent)),
      )),
    );
  }
  log(`   fanout: ${streams.length} streams open in ${round(performance.now() - opened, 0)} ms`);
  await sleep(1000);
  const pid = t.child.pid as number;
  let peakRss = rssMb(pid);
  const latencies: number[] = [];
  let windowMs = 0;
  let relayId = '';
  for (let round_ = 0; round_ < 3; round_++) {
    const steps: (() => Promise<unknown>)[] = [
      async () => {
        const r = await call(t.port, 'POST', '/client/relay/start', pair.tokenA, {
          init_room_id: pair.roomA,
          recv_room_id: pair.roomB,
          recv_user_id: pair.b,
          mode: 'auto',
        });
        relayId = String(r.json.data?.relay_id);
      },
      () => call(t.port, 'POST', `/client/relay/${relayId}/started`, pair.tokenA),
      () => call(t.port, 'POST', `/client/relay/${relayId}/started`, pair.tokenB),
      () => call(t.port, 'POST', `/client/relay/${relayId}/stop`, pair.tokenA),
    ];
    for (const step of steps) {
      arrivals = [];
      t0 = performance.now();
      await step();
      const until = Date.now() + 10_000;
      while (arrivals.length < streams.length && Date.now() < until) {
        await sleep(5);
        peakRss = Math.max(peakRss, rssMb(pid));
      }
      if (arrivals.length < streams.length) {
        log(`   fanout: only ${arrivals.length}/${streams.length} received an event within 10 s`);
      }
      latencies.push(...arrivals);
      windowMs += arrivals.length > 0 ? Math.max(...arrivals) : 10_000;
      await sleep(200);
    }
  }
  peakRss = Math.max(peakRss, rssMb(pid));
  for (const s of streams) s.destroy();
  latencies.sort((x, y) => x - y);
  const expected = streams.length * 12;
  const f: Figures = {
    // Deliveries per second while an event was on its way to the subscribers.
    rps: round(latencies.length / (windowMs / 1000), 1),
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
    rss_mb: round(peakRss, 1),
    errors: expected - latencies.length,
    subscribers: streams.length,
  };
  log(`   fanout ours: ${JSON.stringify(f)}`);
  return f;
}

// ---------------------------------------------------------------- main

/**
 * The ceiling runs as plain JavaScript (dist/bench/), not under ts-node, so that its RSS holds
 * no TypeScript compiler.
 */
function transpileCeiling(): string {
  const out = join(ROOT, 'dist', 'bench');
  mkdirSync(out, { recursive: true });
  for (const name of ['ceiling', 'common']) {
    const source = readFileSync(join(__dirname, `${name}.ts`), 'utf8');
    const { outputText } = transpileModule(source, {
      compilerOptions: {
        module: ModuleKind.CommonJS,
        target: ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    writeFileSync(join(out, `${name}.js`), outputText);
  }
  return 'dist/bench/ceiling.js';
}

let stopping = false;
const children: ChildProcess[] = [];

function table(results: Result[]): string {
  const head = ['scenario', 'who', 'rps', 'p50 ms', 'p99 ms', 'RSS MB', 'errors', 'ratio'];
  const lines: string[][] = [head];
  for (const r of results) {
    for (const who of ['ours', 'ceiling'] as const) {
      const f = r[who];
      if (!f) continue;
      lines.push([
        r.scenario,
        who + (f.subscribers ? ` (${f.subscribers} subs)` : ''),
        String(f.rps),
        String(f.p50_ms),
        String(f.p99_ms),
        String(f.rss_mb),
        String(f.errors ?? 0),
        who === 'ours' && r.ratio !== null ? r.ratio.toFixed(2) : '',
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n');
}

/** Answers --help and refuses anything else before the build, which takes a while. */
function readArguments(): void {
  let help: boolean | undefined;
  try {
    help = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } }).values.help;
  } catch (error) {
    // parseArgs explains itself in its first sentence; the rest is a hint about `--`.
    process.stderr.write(`${String((error as Error).message).split('. ')[0]}\n\n${USAGE}`);
    process.exit(2);
  }
  if (help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
}

async function main(): Promise<void> {
  // Built here rather than in the npm script, so that --help needs no build.
  if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
    throw new Error('npm run build failed');
  }
  const began = Date.now();
  log(
    `bench: database ${DB_NAME}, ${CONNECTIONS} connections, ${WARMUP_S}s warm-up + ${DURATION_S}s`,
  );
  await admin(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  await admin(`CREATE DATABASE ${DB_NAME} CHARACTER SET utf8mb4`);

  const ours: Target = {
    name: 'ours',
    port: OURS_PORT,
    child: startProcess(['dist/main.js'], OURS_PORT),
  };
  children.push(ours.child);
  await waitForPort(OURS_PORT);
  log('   ours is up (migrations ran); seeding 100,000 sessions');
  const seeding = performance.now();
  await seed();
  log(`   seeded in ${round((performance.now() - seeding) / 1000, 1)} s`);

  const ceiling: Target = {
    name: 'ceiling',
    port: CEILING_PORT,
    child: startProcess([transpileCeiling()], CEILING_PORT),
  };
  children.push(ceiling.child);
  await waitForPort(CEILING_PORT);

  const results: Result[] = [];
  const both = async (
    scenario: 'read' | 'lifecycle',
    run: (t: Target) => Promise<Figures>,
  ): Promise<void> => {
    const o = await run(ours);
    const c = await run(ceiling);
    results.push({ scenario, ours: o, ceiling: c, ratio: round(o.rps / c.rps, 3) });
  };
  await both('read', readScenario);
  await both('lifecycle', lifecycleScenario);
  // The ceiling has no stream; stop it so the fan-out has the machine to itself.
  children.splice(children.indexOf(ceiling.child), 1);
  ceiling.child.removeAllListeners('exit');
  ceiling.child.kill('SIGTERM');
  results.push({
    scenario: 'fanout',
    ours: await fanoutScenario(ours),
    ceiling: null,
    ratio: null,
  });

  const printed = table(results);
  log('');
  log(printed);
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwritten bench/results.json; total ${round((Date.now() - began) / 1000, 0)} s`);
}

async function cleanup(): Promise<void> {
  stopping = true;
  agent.destroy();
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await sleep(500);
  await admin(`DROP DATABASE IF EXISTS ${DB_NAME}`).catch(() => undefined);
}

readArguments();
main()
  .then(cleanup)
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup();
    process.exit(1);
  });
