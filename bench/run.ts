/**
 * `npm run bench`: builds, then runs our server (dist/main.js) against the ceiling
 * (bench/ceiling.ts) and the fan-out floor (bench/sse-floor.ts) on MariaDB, five scenarios, a
 * table on stdout and bench/results.json. See bench/README.md.
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
import { BENCH_KEYS, clientToken, qiniuAuthorization } from './common';

const USAGE = `Usage: npm run bench

Builds the service, then measures it against a bare Fastify + mysql2 ceiling and a bare
node:http fan-out floor on MariaDB/MySQL (user root without password): a table on stdout and
bench/results.json, about 3 minutes.
See bench/README.md. Settings are environment variables:

  BENCH_DB_HOST      database host:port (default 127.0.0.1:3306)
  BENCH_DB_NAME      database created and dropped by the run (default relay_bench)
  BENCH_CONNECTIONS  concurrent connections (default 32)
  BENCH_WARMUP_S     warm-up seconds of each measurement (default 3)
  BENCH_DURATION_S   measured seconds (default 12)
  BENCH_SUBSCRIBERS  event streams of the fan-out scenario (default 10000)
  BENCH_CPU_PROF     a directory: our server runs with --cpu-prof and writes its profile
                     there when the run ends (open it in Chrome DevTools or VS Code)
`;

const DB_HOST = process.env.BENCH_DB_HOST ?? '127.0.0.1:3306';
const DB_NAME = process.env.BENCH_DB_NAME ?? 'relay_bench';
const DATABASE_URL = `mysql://root@${DB_HOST}/${DB_NAME}`;
const OURS_PORT = 18080;
const CEILING_PORT = 18090;
const FLOOR_PORT = 18091;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 12);
/** Measured windows per server in a request scenario (see compare). */
const WINDOWS = 4;
const SEEDED = 100_000;
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const SCORE_RELAYS = 8;
const PK_STREAMS = 2000;
const PK_RATE = 50;
const PK_SECONDS = 10;
const ROOT = join(__dirname, '..');

interface Figures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  rss_mb: number;
  errors: number;
  cpu_us_per_op: number;
  subscribers?: number;
  lost?: number;
  missing?: number;
  out_of_order?: number;
}

type Scenario = 'read' | 'lifecycle' | 'score' | 'fanout' | 'pk_live';

interface Result {
  scenario: Scenario;
  ours: Figures;
  ceiling: Figures | null;
  ratio: number | null;
  cpu_ratio: number | null;
}

interface Target {
  name: 'ours' | 'ceiling' | 'floor';
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

const CLK_TCK =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** User + system CPU the process has used so far, in microseconds. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; fields 14 and 15 (utime, stime) count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

interface Usage {
  rss: number;
  cpu: number;
  /** Cores the bench process itself kept busy meanwhile: near 1, it may be what limits. */
  clientCores: number;
}

/** Samples a process's RSS while `work` runs; answers the work's result, the peak and its CPU. */
async function observe<T>(pid: number, work: () => Promise<T>): Promise<[T, Usage]> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
  const cpuBefore = cpuUs(pid);
  const clientBefore = process.cpuUsage();
  const began = performance.now();
  try {
    const result = await work();
    const client = process.cpuUsage(clientBefore);
    return [
      result,
      {
        rss: Math.max(peak, rssMb(pid)),
        cpu: cpuUs(pid) - cpuBefore,
        clientCores: round((client.user + client.system) / 1000 / (performance.now() - began)),
      },
    ];
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
  SERVER_ACCESS_KEY: BENCH_KEYS.serverAccessKey,
  SERVER_SECRET_KEY: BENCH_KEYS.serverSecretKey,
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
          JSON.stringify({ [`seed_room_a_${n}`]: n % 97, [`seed_room_b_${n}`]: n % 89 }),
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
          'recv_room_id, status, stop_reason, duration_s, extends_json, scores_json, version, start_at, ' +
          'stop_at, deadline_at, created_at, updated_at) VALUES ?',
        [values],
      );
    }
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- plain HTTP client

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

type Answer = { status: number; json: { code: number; data?: Record<string, unknown> } };

function send(
  port: number,
  method: string,
  path: string,
  headers: http.OutgoingHttpHeaders,
  payload?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
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
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A client API request with a user's token. */
function call(
  port: number,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return send(
    port,
    method,
    path,
    {
      authorization: `Bearer ${token}`,
      ...(payload ? { 'content-type': 'application/json' } : {}),
    },
    payload,
  );
}

/** The headers of a server API request with a JSON body, signed with the bench's keys. */
function serverHeaders(port: number, path: string, body: string): Record<string, string> {
  const host = `127.0.0.1:${port}`;
  return {
    host,
    'content-type': 'application/json',
    authorization: qiniuAuthorization('POST', path, host, body),
  };
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

/** One server's side of a request scenario. */
interface Load {
  target: Target;
  /** autocannon's options for one window; the caller sets the duration. */
  options: () => Promise<autocannon.Options>;
  /** Figures that can only be known once the run is over (score: `lost`). */
  finish?: (f: Figures) => Promise<Figures>;
}

interface Tally {
  requests: number;
  seconds: number;
  cpu: number;
  rss: number;
  errors: number;
  latencies: number[];
}

function run(options: autocannon.Options, latencies: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) =>
      error
        ? reject(error instanceof Error ? error : new Error(JSON.stringify(error)))
        : resolve(result),
    );
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

/**
 * Measures the servers of a request scenario: a warm-up each, then the measured seconds split
 * into WINDOWS windows per server, taken in turns (ours, ceiling, ceiling, ours, ...), so that
 * whatever else the machine does meanwhile weighs on both alike instead of on whichever ran
 * first. Each server's figures add up over its windows; setting up a window (options()) is
 * outside the measurement.
 */
async function compare(label: string, loads: Load[]): Promise<Figures[]> {
  for (const load of loads) {
    await run({ ...(await load.options()), duration: WARMUP_S }, []);
  }
  const tallies: Tally[] = loads.map(() => ({
    requests: 0,
    seconds: 0,
    cpu: 0,
    rss: 0,
    errors: 0,
    latencies: [],
  }));
  for (let w = 0; w < WINDOWS; w++) {
    const order = loads.map((_, i) => (w % 2 === 0 ? i : loads.length - 1 - i));
    for (const i of order) {
      const options = await loads[i].options();
      const tally = tallies[i];
      const [result, usage] = await observe(loads[i].target.child.pid as number, () =>
        run({ ...options, duration: DURATION_S / WINDOWS }, tally.latencies),
      );
      tally.requests += result.requests.total;
      tally.seconds += result.duration;
      tally.cpu += usage.cpu;
      tally.rss = Math.max(tally.rss, usage.rss);
      tally.errors += result.errors + result.timeouts + result.non2xx;
    }
  }
  const figures: Figures[] = [];
  for (const [i, load] of loads.entries()) {
    const tally = tallies[i];
    const sorted = tally.latencies.sort((x, y) => x - y);
    let f: Figures = {
      rps: round(tally.requests / tally.seconds, 1),
      p50_ms: round(percentile(sorted, 50), 1),
      p99_ms: round(percentile(sorted, 99), 1),
      rss_mb: round(tally.rss, 1),
      errors: tally.errors,
      cpu_us_per_op: round(tally.cpu / Math.max(1, tally.requests), 1),
    };
    if (load.finish) f = await load.finish(f);
    log(`   ${label} ${load.target.name}: ${JSON.stringify(f)}`);
    figures.push(f);
  }
  return figures;
}

async function readLoad(t: Target): Promise<Load> {
  const tokens = Array.from({ length: 16 }, (_, i) => `Bearer ${clientToken(`reader_${i}`)}`);
  return {
    target: t,
    options: async () => ({
      url: `http://127.0.0.1:${t.port}`,
      connections: CONNECTIONS,
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
    }),
  };
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
async function lifecycleLoad(t: Target): Promise<Load> {
  return {
    target: t,
    options: async () => {
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
    },
  };
}

interface ScoringRelay {
  relayId: string;
  pair: Pair;
}

/** Relays at status 4 (start auto, started by both anchors), through the server's own API. */
async function scoringRelays(port: number, count: number): Promise<ScoringRelay[]> {
  const relays: ScoringRelay[] = [];
  for (const pair of await makePairs(port, count)) {
    const started = await call(port, 'POST', '/client/relay/start', pair.tokenA, {
      init_room_id: pair.roomA,
      recv_room_id: pair.roomB,
      recv_user_id: pair.b,
      mode: 'auto',
    });
    const relayId = String(started.json.data?.relay_id);
    await call(port, 'POST', `/client/relay/${relayId}/started`, pair.tokenA);
    const both = await call(port, 'POST', `/client/relay/${relayId}/started`, pair.tokenB);
    if (both.json.data?.relay_status !== 4) {
      throw new Error(`relay did not reach status 4: ${JSON.stringify(both)}`);
    }
    relays.push({ relayId, pair });
  }
  return relays;
}

interface Gift {
  path: string;
  body: string;
}

interface ScoreContext {
  scoreId?: string;
}

/**
 * Signed score changes with distinct score_ids, spread over SCORE_RELAYS relays and both rooms
 * of each. Every request built counts in the expected sums; those left unanswered when a run
 * ends are sent again afterwards with the same score_id, which counts each gift once, so the
 * scores read back must equal the sums exactly.
 */
async function scoreLoad(t: Target): Promise<Load> {
  const relays = await scoringRelays(t.port, SCORE_RELAYS);
  const expected = new Map<string, number>();
  const unanswered = new Map<string, Gift>();
  let serial = 0;
  const options = async (): Promise<autocannon.Options> => ({
    url: `http://127.0.0.1:${t.port}`,
    connections: CONNECTIONS,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, c) => {
          const n = serial++;
          const { relayId, pair } = relays[n % relays.length];
          const roomId = Math.floor(n / relays.length) % 2 === 0 ? pair.roomA : pair.roomB;
          const delta = 1 + (n % 5);
          const scoreId = `gift_${t.name}_${n}`;
          const path = `/server/relay/${relayId}/score`;
          const body = JSON.stringify({ room_id: roomId, delta, score_id: scoreId });
          expected.set(`${relayId} ${roomId}`, (expected.get(`${relayId} ${roomId}`) ?? 0) + delta);
          unanswered.set(scoreId, { path, body });
          (c as ScoreContext).scoreId = scoreId;
          return { ...req, path, body, headers: serverHeaders(t.port, path, body) };
        },
        onResponse: (status, _body, c) => {
          if (status === 200) unanswered.delete((c as ScoreContext).scoreId ?? '');
        },
      },
    ],
  });
  const finish = async (f: Figures): Promise<Figures> => {
    for (const [scoreId, gift] of unanswered) {
      const r = await send(
        t.port,
        'POST',
        gift.path,
        serverHeaders(t.port, gift.path, gift.body),
        gift.body,
      );
      if (r.status !== 200) throw new Error(`score ${scoreId} failed again: ${JSON.stringify(r)}`);
    }
    let lost = 0;
    for (const { relayId, pair } of relays) {
      const read = await call(t.port, 'GET', `/client/relay/${relayId}`, pair.tokenA);
      const scores = (read.json.data?.scores ?? {}) as Record<string, number>;
      for (const roomId of [pair.roomA, pair.roomB]) {
        lost += (expected.get(`${relayId} ${roomId}`) ?? 0) - (scores[roomId] ?? 0);
      }
    }
    log(`   score ${t.name}: ${unanswered.size} unanswered sent again, lost ${lost}`);
    return { ...f, lost };
  };
  return { target: t, options, finish };
}

/**
 * Opens one SSE stream; `onMessage` is called at the arrival of each message with an id. The
 * bench process reads up to 100,000 frames a second in pk_live, so messages stay Buffers and
 * are searched natively, never decoded whole.
 */
function subscribe(
  port: number,
  path: string,
  token: string,
  sseAgent: http.Agent,
  onMessage: (message: Buffer) => void,
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
        let rest: Buffer | null = null;
        res.on('data', (chunk: Buffer) => {
          const data: Buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
          let start = 0;
          let end: number;
          while ((end = data.indexOf('\n\n', start)) >= 0) {
            const message = data.subarray(start, end);
            start = end + 2;
            if (message.indexOf('id:') === 0 || message.includes('\nid:')) onMessage(message);
          }
          rest = start < data.length ? data.subarray(start) : null;
        });
        resolve(req);
      },
    );
    req.on('error', reject);
  });
}

/** `count` streams on one path, opened 250 at a time. */
async function openStreams(
  port: number,
  path: string,
  count: number,
  onMessage: (stream: number, message: Buffer) => void,
): Promise<http.ClientRequest[]> {
  const viewer = clientToken('viewer');
  const sseAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const streams: http.ClientRequest[] = [];
  const opened = performance.now();
  for (let i = 0; i < count; i += 250) {
    streams.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(250, count - i) }, (_, j) =>
          subscribe(port, path, viewer, sseAgent, (message) => onMessage(i + j, message)),
        ),
      )),
    );
  }
  log(`   ${streams.length} streams open in ${round(performance.now() - opened, 0)} ms`);
  return streams;
}

const FANOUT_ROUNDS = 3;

/**
 * Opens SUBSCRIBERS streams on one room and fires FANOUT_ROUNDS x 4 triggers, each awaited
 * until every stream has its frame (or 10 s passed). `trigger(step)` sends step 0..11 and
 * resolves when it is answered. Answers the figures and the size of each step's frame.
 */
async function fanout(
  t: Target,
  path: string,
  trigger: (step: number) => Promise<unknown>,
): Promise<[Figures, number[]]> {
  let t0 = 0;
  let arrivals: number[] = [];
  let frameBytes = 0;
  const streams = await openStreams(t.port, path, SUBSCRIBERS, (_stream, message) => {
    arrivals.push(performance.now() - t0);
    frameBytes = message.length + 2;
  });
  await sleep(1000);
  const pid = t.child.pid as number;
  const latencies: number[] = [];
  const sizes: number[] = [];
  let windowMs = 0;
  const [, usage] = await observe(pid, async () => {
    for (let step = 0; step < FANOUT_ROUNDS * 4; step++) {
      arrivals = [];
      t0 = performance.now();
      await trigger(step);
      const until = Date.now() + 10_000;
      while (arrivals.length < streams.length && Date.now() < until) await sleep(5);
      if (arrivals.length < streams.length) {
        log(`   fanout: only ${arrivals.length}/${streams.length} received a frame within 10 s`);
      }
      latencies.push(...arrivals);
      sizes.push(frameBytes);
      windowMs += arrivals.length > 0 ? Math.max(...arrivals) : 10_000;
      await sleep(200);
    }
  });
  for (const s of streams) s.destroy();
  latencies.sort((x, y) => x - y);
  const f: Figures = {
    // Deliveries per second while a frame was on its way to the subscribers.
    rps: round(latencies.length / (windowMs / 1000), 1),
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
    rss_mb: round(usage.rss, 1),
    errors: streams.length * FANOUT_ROUNDS * 4 - latencies.length,
    cpu_us_per_op: round(usage.cpu / Math.max(1, latencies.length), 2),
    subscribers: streams.length,
  };
  log(`   fanout ${t.name}: ${JSON.stringify(f)}; bench client ${usage.clientCores} cores`);
  return [f, sizes];
}

/** Ours: the streams watch one anchor's room while that pair goes through start, started x2, stop. */
async function fanoutScenario(t: Target): Promise<[Figures, number[]]> {
  const [pair] = await makePairs(t.port, 1);
  let relayId = '';
  return fanout(t, `/client/relay/events?room_id=${pair.roomA}`, async (step) => {
    switch (step % 4) {
      case 0: {
        const r = await call(t.port, 'POST', '/client/relay/start', pair.tokenA, {
          init_room_id: pair.roomA,
          recv_room_id: pair.roomB,
          recv_user_id: pair.b,
          mode: 'auto',
        });
        relayId = String(r.json.data?.relay_id);
        return;
      }
      case 1:
        return call(t.port, 'POST', `/client/relay/${relayId}/started`, pair.tokenA);
      case 2:
        return call(t.port, 'POST', `/client/relay/${relayId}/started`, pair.tokenB);
      default:
        return call(t.port, 'POST', `/client/relay/${relayId}/stop`, pair.tokenA);
    }
  });
}

/** The floor: the same streams, each trigger a frame of the size ours sent at that step. */
async function floorScenario(t: Target, sizes: number[]): Promise<Figures> {
  const [f] = await fanout(t, '/client/relay/events?room_id=floor_room', (step) =>
    call(t.port, 'POST', `/client/relay/frame?bytes=${sizes[step]}`, clientToken('anchor')),
  );
  return f;
}

const SCORE_ID = '"score_id":"';

/** What one pk_live stream has seen. */
interface Watch {
  lastId: number;
  /** Which of the scenario's score changes (pk_<n>) have arrived, each counted once. */
  seen: Uint8Array;
  received: number;
  outOfOrder: number;
}

/**
 * PK_STREAMS audience streams on one room of a relay at status 4 while the relay takes
 * PK_RATE score changes a second for PK_SECONDS: each stream must get every score_changed
 * event once, in id order. Latency runs from sending a score request to each stream's frame.
 */
async function pkLiveScenario(t: Target): Promise<Figures> {
  const [{ relayId, pair }] = await scoringRelays(t.port, 1);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const total = PK_RATE * PK_SECONDS;
  const watches: Watch[] = Array.from({ length: PK_STREAMS }, () => ({
    lastId: 0,
    seen: new Uint8Array(total),
    received: 0,
    outOfOrder: 0,
  }));
  const streams = await openStreams(
    t.port,
    `/client/relay/events?room_id=${pair.roomA}`,
    PK_STREAMS,
    (stream, message) => {
      const at = performance.now();
      if (!message.includes('\nevent: relay.score_changed\n')) return;
      const id = Number(message.toString('latin1', 4, message.indexOf('\n')));
      const from = message.indexOf(SCORE_ID) + SCORE_ID.length;
      const scoreId = message.toString('latin1', from, message.indexOf('"', from));
      const w = watches[stream];
      // A repeated frame counts here too: its id is not above the last one.
      if (id <= w.lastId) w.outOfOrder++;
      w.lastId = Math.max(w.lastId, id);
      const n = Number(scoreId.slice('pk_'.length));
      if (w.seen[n] === 0) {
        w.seen[n] = 1;
        w.received++;
      }
      latencies.push(at - (sentAt.get(scoreId) ?? at));
    },
  );
  await sleep(1000);
  let changed = 0;
  let errors = 0;
  const answered: number[] = [];
  const [windowMs, usage] = await observe(t.child.pid as number, async () => {
    const began = performance.now();
    const answers: Promise<void>[] = [];
    for (let n = 0; n < total; n++) {
      await sleep(began + (n * 1000) / PK_RATE - performance.now());
      const path = `/server/relay/${relayId}/score`;
      const scoreId = `pk_${n}`;
      const body = JSON.stringify({
        room_id: n % 2 ? pair.roomB : pair.roomA,
        delta: 1,
        score_id: scoreId,
      });
      sentAt.set(scoreId, performance.now());
      answers.push(
        send(t.port, 'POST', path, serverHeaders(t.port, path, body), body).then(
          (r) => {
            answered.push(performance.now() - (sentAt.get(scoreId) as number));
            if (r.status === 200 && r.json.data?.duplicate === false) changed++;
            else errors++;
          },
          () => {
            errors++;
          },
        ),
      );
    }
    await Promise.all(answers);
    const until = Date.now() + 10_000;
    while (watches.some((w) => w.received < changed) && Date.now() < until) await sleep(20);
    return performance.now() - began;
  });
  for (const s of streams) s.destroy();
  latencies.sort((x, y) => x - y);
  answered.sort((x, y) => x - y);
  log(
    `   pk_live: score answers p50 ${round(percentile(answered, 50), 1)} ms, p99 ${round(percentile(answered, 99), 1)} ms`,
  );
  const f: Figures = {
    // Frames delivered per second, from the first score request to the last frame.
    rps: round(latencies.length / (windowMs / 1000), 1),
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
    rss_mb: round(usage.rss, 1),
    errors,
    cpu_us_per_op: round(usage.cpu / Math.max(1, latencies.length), 2),
    subscribers: streams.length,
    missing: watches.reduce((sum, w) => sum + Math.max(0, changed - w.received), 0),
    out_of_order: watches.reduce((sum, w) => sum + w.outOfOrder, 0),
  };
  log(
    `   pk_live ours: ${changed} score changes; ${JSON.stringify(f)}; ` +
      `bench client ${usage.clientCores} cores, ours ${round(usage.cpu / 1000 / windowMs)} cores`,
  );
  return f;
}

// ---------------------------------------------------------------- main

/**
 * The ceiling and the floor run as plain JavaScript (dist/bench/), not under ts-node, so that
 * their RSS holds no TypeScript compiler.
 */
function transpileComparisons(): void {
  const out = join(ROOT, 'dist', 'bench');
  mkdirSync(out, { recursive: true });
  for (const name of ['ceiling', 'sse-floor', 'common']) {
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
}

let stopping = false;
const children: ChildProcess[] = [];

/** Where a scenario checks correctness: lost gifts, missing or misordered frames. */
function checks(f: Figures): string {
  const parts: string[] = [];
  if (f.lost !== undefined) parts.push(`lost ${f.lost}`);
  if (f.missing !== undefined) parts.push(`missing ${f.missing}`);
  if (f.out_of_order !== undefined) parts.push(`out_of_order ${f.out_of_order}`);
  return parts.join(', ');
}

function table(results: Result[]): string {
  const head = [
    'scenario',
    'who',
    'rps',
    'p50 ms',
    'p99 ms',
    'RSS MB',
    'errors',
    'cpu us/op',
    'ratio',
    'cpu_ratio',
    'checks',
  ];
  const lines: string[][] = [head];
  for (const r of results) {
    for (const who of ['ours', 'ceiling'] as const) {
      const f = r[who];
      if (!f) continue;
      const name = who === 'ceiling' && r.scenario === 'fanout' ? 'floor' : who;
      const mine = who === 'ours';
      lines.push([
        r.scenario,
        name + (f.subscribers ? ` (${f.subscribers} subs)` : ''),
        String(f.rps),
        String(f.p50_ms),
        String(f.p99_ms),
        String(f.rss_mb),
        String(f.errors),
        String(f.cpu_us_per_op),
        mine && r.ratio !== null ? r.ratio.toFixed(2) : '',
        mine && r.cpu_ratio !== null ? r.cpu_ratio.toFixed(2) : '',
        checks(f),
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const row = (l: string[]) => l.map((cell, i) => cell.padEnd(widths[i])).join('  ');
  return lines.map((l) => row(l).trimEnd()).join('\n');
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
    child: startProcess(
      CPU_PROF_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, 'dist/main.js']
        : ['dist/main.js'],
      OURS_PORT,
    ),
  };
  children.push(ours.child);
  await waitForPort(OURS_PORT);
  log('   ours is up (migrations ran); seeding 100,000 sessions');
  const seeding = performance.now();
  await seed();
  log(`   seeded in ${round((performance.now() - seeding) / 1000, 1)} s`);

  transpileComparisons();
  const ceiling: Target = {
    name: 'ceiling',
    port: CEILING_PORT,
    child: startProcess(['dist/bench/ceiling.js'], CEILING_PORT),
  };
  children.push(ceiling.child);
  await waitForPort(CEILING_PORT);

  const results: Result[] = [];
  const compared = (scenario: Scenario, o: Figures, c: Figures): void => {
    results.push({
      scenario,
      ours: o,
      ceiling: c,
      ratio: round(o.rps / c.rps, 3),
      cpu_ratio: round(c.cpu_us_per_op / o.cpu_us_per_op, 3),
    });
  };
  const both = async (scenario: Scenario, load: (t: Target) => Promise<Load>) => {
    const [o, c] = await compare(scenario, [await load(ours), await load(ceiling)]);
    compared(scenario, o, c);
  };
  await both('read', readLoad);
  await both('lifecycle', lifecycleLoad);
  await both('score', scoreLoad);
  // Streams only from here on: the ceiling has none, and the fan-outs get the machine.
  stop(ceiling);
  const [fanoutOurs, frameSizes] = await fanoutScenario(ours);
  const floor: Target = {
    name: 'floor',
    port: FLOOR_PORT,
    child: startProcess(['dist/bench/sse-floor.js'], FLOOR_PORT),
  };
  children.push(floor.child);
  await waitForPort(FLOOR_PORT);
  compared('fanout', fanoutOurs, await floorScenario(floor, frameSizes));
  stop(floor);
  results.push({
    scenario: 'pk_live',
    ours: await pkLiveScenario(ours),
    ceiling: null,
    ratio: null,
    cpu_ratio: null,
  });

  const printed = table(results);
  log('');
  log(printed);
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwritten bench/results.json; total ${round((Date.now() - began) / 1000, 0)} s`);
}

function stop(t: Target): void {
  children.splice(children.indexOf(t.child), 1);
  t.child.removeAllListeners('exit');
  t.child.kill('SIGTERM');
}

async function cleanup(): Promise<void> {
  stopping = true;
  agent.destroy();
  // Our server drains and exits on SIGTERM; a profile is only written when it has.
  const exits = children
    .filter((child) => child.exitCode === null)
    .map((child) => {
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', resolve));
    });
  await Promise.race([Promise.all(exits), sleep(15_000)]);
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
