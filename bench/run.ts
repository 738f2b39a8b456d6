/**
 * `npm run bench`: builds, then runs our server (dist/main.js, on up to three nodes) against the
 * ceiling (bench/ceiling.ts) and the fan-out floor (bench/sse-floor.ts) on MariaDB, nine
 * scenarios, a table on stdout and bench/results.json. See bench/README.md.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ModuleKind, ScriptTarget, transpileModule } from 'typescript';
import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import { BENCH_KEYS, clientToken, qiniuAuthorization } from './common';

const SCENARIOS = [
  'read',
  'lifecycle',
  'score',
  'hot_relay',
  'contributions',
  'battle_night',
  'match_burst',
  'fanout',
  'pk_live',
] as const;

type Scenario = (typeof SCENARIOS)[number];

const USAGE = `Usage: npm run bench [-- --only SCENARIO[,SCENARIO...]] [-- --quick]

Builds the service, then measures it against a bare Fastify + mysql2 ceiling and a bare
node:http fan-out floor on MariaDB/MySQL (user root without password): a table on stdout and
bench/results.json, under 14 minutes on a quiet machine.
See bench/README.md.

  --only      the scenarios to run, of: ${SCENARIOS.join(', ')}
  --quick     a small scale of each (shorter windows, fewer battles, anchors, contributors
              and streams), to try a scenario and its checks; not figures to compare

Settings are environment variables:

  BENCH_DB_HOST      database host:port (default 127.0.0.1:3306)
  BENCH_DB_NAME      database created and dropped by the run (default relay_bench)
  BENCH_CONNECTIONS  concurrent connections (default 32)
  BENCH_WARMUP_S     warm-up seconds of each measurement (default 3)
  BENCH_DURATION_S   measured seconds (default 12)
  BENCH_SUBSCRIBERS  event streams of the fan-out scenario (default 20000)
  BENCH_CPU_PROF     a directory: our server runs with --cpu-prof and writes its profile
                     there when the run ends (open it in Chrome DevTools or VS Code), the
                     ceiling's in its ceiling/ folder
`;

/** Answers --help and refuses anything else before the build, which takes a while. */
function readArguments(): { only: Scenario[]; quick: boolean } {
  let values: { help?: boolean; only?: string; quick?: boolean };
  try {
    values = parseArgs({
      options: {
        help: { type: 'boolean', short: 'h' },
        only: { type: 'string' },
        quick: { type: 'boolean' },
      },
    }).values;
  } catch (error) {
    // parseArgs explains itself in its first sentence; the rest is a hint about `--`.
    process.stderr.write(`${String((error as Error).message).split('. ')[0]}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const only = values.only === undefined ? [...SCENARIOS] : values.only.split(',');
  const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`no scenario ${unknown.join(', ')}\n\n${USAGE}`);
    process.exit(2);
  }
  return { only: only as Scenario[], quick: values.quick === true };
}

const ARGS = readArguments();
const QUICK = ARGS.quick;
/** The full figure, or the small one of --quick. */
const scale = (full: number, quick: number) => (QUICK ? quick : full);

const DB_HOST = process.env.BENCH_DB_HOST ?? '127.0.0.1:3306';
const DB_NAME = process.env.BENCH_DB_NAME ?? 'relay_bench';
const DATABASE_URL = `mysql://root@${DB_HOST}/${DB_NAME}`;
const OURS_PORT = 18080;
/** Our further nodes on the same database: hot_relay runs on three, battle_night on two. */
const NODE_PORTS = [18081, 18082];
const CEILING_PORT = 18090;
const FLOOR_PORT = 18091;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? scale(3, 1));
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? scale(12, 4));
/** Measured windows per server in a request scenario (see compare). */
const WINDOWS = 4;
const SEEDED = scale(100_000, 10_000);
/** The open files this process, and the servers it starts (they inherit it), may hold. */
function openFileLimit(): number {
  const limit = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return limit === null || limit[1] === 'unlimited' ? Infinity : Number(limit[1]);
}
/**
 * Descriptors a process needs beside the streams: the database pool, listeners, stdio, the
 * files it loads. Each stream is one socket in the bench and one in the server under test.
 */
const FD_HEADROOM = 500;
const SUBSCRIBERS_ASKED = Number(process.env.BENCH_SUBSCRIBERS ?? scale(20_000, 2000));
/** As many streams as asked for, or as the open-file limit lets both ends hold. */
const SUBSCRIBERS = Math.min(SUBSCRIBERS_ASKED, openFileLimit() - FD_HEADROOM);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const SCORE_RELAYS = 8;
const PK_STREAMS = scale(2000, 500);
const PK_RATE = 50;
const PK_SECONDS = scale(10, 3);
const HOT_ROOMS = 4;
const HOT_CONNECTIONS = 64;
const AUDIENCE = 10_000;
/** The share of hot_relay's requests that repeat a recent gift, as a gift system's retries. */
const REPEAT_SHARE = 0.1;
/** The gifts a repeat is drawn from: the last ones sent, some still unanswered. */
const RECENT = 256;
const BATTLES = scale(1000, 100);
const ANCHORS = scale(2000, 200);
/** match_burst's requests are spread evenly over this many milliseconds. */
const BURST_MS = 2000;
const CONTRIBUTORS = scale(100_000, 20_000);
const PAGE = 20;
const DEEP_PAGE = 500;
/** Few connections: the ranking's page costs, not a queue of viewers in front of them. */
const CONTRIBUTION_CONNECTIONS = 4;
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
  /** hot_relay: gifts recorded more than once; tallies unequal to the sums of the gifts. */
  doubled?: number;
  mismatches?: number;
  /**
   * hot_relay: score changes per transaction, reckoned from their events' times: one
   * transaction records all its events at one time, so this counts distinct times.
   */
  changes_per_commit?: number;
  nodes?: number;
  battles?: number;
  max_ms?: number;
  missed?: number;
  /** battle_night: from the first battle's due time to the last one's. */
  due_spread_ms?: number;
  anchors?: number;
  matched?: number;
  violations?: number;
  contributors?: number;
  deep_p50_ms?: number;
  deep_p99_ms?: number;
}

interface Result {
  scenario: Scenario;
  ours: Figures;
  /** hot_relay: the same load on three nodes of ours on the one database. */
  ours_3_nodes?: Figures;
  ceiling: Figures | null;
  ratio: number | null;
  cpu_ratio: number | null;
}

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
  /** Further nodes of the same server on the same database, measured together with it. */
  nodes?: Target[];
}

const pidsOf = (t: Target) => [t, ...(t.nodes ?? [])].map((n) => n.child.pid as number);
const portsOf = (t: Target) => [t, ...(t.nodes ?? [])].map((n) => n.port);

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

const sum = (values: number[]) => values.reduce((total, v) => total + v, 0);

/**
 * Samples the RSS of a server's processes (its nodes) while `work` runs; answers the work's
 * result, the peak of their sum and the CPU they used.
 */
async function observe<T>(pids: number[], work: () => Promise<T>): Promise<[T, Usage]> {
  const rss = () => sum(pids.map(rssMb));
  const cpu = () => sum(pids.map(cpuUs));
  let peak = rss();
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 250);
  const cpuBefore = cpu();
  const clientBefore = process.cpuUsage();
  const began = performance.now();
  try {
    const result = await work();
    const client = process.cpuUsage(clientBefore);
    return [
      result,
      {
        rss: Math.max(peak, rss()),
        cpu: cpu() - cpuBefore,
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

function connect(database?: string) {
  const [host, port] = DB_HOST.split(':');
  return createConnection({ host, port: Number(port), user: 'root', database });
}

/** Runs `work` with a connection to the bench's database, for setup in bulk and for checks. */
async function withDatabase<T>(work: (c: Connection) => Promise<T>): Promise<T> {
  const c = await connect(DB_NAME);
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

async function admin(sql: string): Promise<void> {
  const c = await connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** 100,000 finished-looking sessions, inserted 2,000 rows per statement. */
async function seed(): Promise<void> {
  await withDatabase(async (c) => {
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
  });
}

/**
 * `count` live rooms in no relay, straight into the table (the setup of battle_night and
 * match_burst: thousands of rooms made through the API would take longer than the scenario).
 */
async function insertLiveRooms(
  prefix: string,
  count: number,
): Promise<{ roomId: string; userId: string }[]> {
  const now = Date.now();
  const rooms = Array.from({ length: count }, (_, i) => ({
    roomId: `${prefix}_room_${i}`,
    userId: `${prefix}_anchor_${i}`,
  }));
  await withDatabase(async (c) => {
    for (let from = 0; from < count; from += 2000) {
      await c.query(
        'INSERT INTO live_room (live_id, app_id, title, notice, cover_url, extends_json, ' +
          'anchor_id, live_status, pk_id, start_at, end_at, heartbeat_at, created_at, updated_at) ' +
          'VALUES ?',
        [
          rooms
            .slice(from, from + 2000)
            .map((r) => [
              r.roomId,
              'default',
              prefix,
              '',
              '',
              '{}',
              r.userId,
              1,
              '',
              now,
              null,
              now,
              now,
              now,
            ]),
        ],
      );
    }
  });
  return rooms;
}

/** Runs work(0..count-1), `concurrency` at a time. */
async function inTurns(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
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
  through: http.Agent = agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, method, path, agent: through, headers };
    const req = http.request(options, (res) => {
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
  through: http.Agent = agent,
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
    through,
  );
}

/** A signed server API request with a JSON body. */
function serverCall(port: number, path: string, body: unknown): Promise<Answer> {
  const payload = JSON.stringify(body);
  return send(port, 'POST', path, serverHeaders(port, path, payload), payload);
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
  /**
   * Operations done so far, when they are not requests (hot_relay: score changes, not the
   * repeats answered as duplicates): rps and CPU per operation count these instead.
   */
  operations?: () => number;
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
      const opsBefore = loads[i].operations?.() ?? 0;
      const [result, usage] = await observe(pidsOf(loads[i].target), () =>
        run({ ...options, duration: DURATION_S / WINDOWS }, tally.latencies),
      );
      const operations = loads[i].operations;
      tally.requests += operations ? operations() - opsBefore : result.requests.total;
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

/** One gift of hot_relay's audience, sent once and perhaps repeated. */
interface HotGift {
  scoreId: string;
  roomId: string;
  userId: string;
  delta: number;
  body: string;
}

/**
 * A relay of HOT_ROOMS rooms at status 4, every anchor started, with a battle of all of them
 * fighting for an hour (no countdown), made through the API of the server on `port`.
 */
async function hotRelay(port: number): Promise<{ relayId: string; rooms: string[] }> {
  const anchors = Array.from({ length: HOT_ROOMS }, () => `hot_anchor_${pairSerial++}`);
  const rooms = await Promise.all(anchors.map((a) => liveRoom(port, a)));
  const started = await call(port, 'POST', '/client/relay/start', clientToken(anchors[0]), {
    init_room_id: rooms[0],
    recv_rooms: rooms.slice(1).map((roomId, i) => ({ room_id: roomId, user_id: anchors[i + 1] })),
    mode: 'auto',
  });
  if (started.json.code !== 0) throw new Error(`hot relay start: ${JSON.stringify(started.json)}`);
  const relayId = String(started.json.data?.relay_id);
  let status: unknown;
  for (const a of anchors) {
    const r = await call(port, 'POST', `/client/relay/${relayId}/started`, clientToken(a));
    status = r.json.data?.relay_status;
  }
  if (status !== 4) throw new Error(`hot relay ${relayId} did not reach 4 (${String(status)})`);
  const battle = await serverCall(port, `/server/relay/${relayId}/battles`, {
    duration_s: 3600,
    countdown_s: 0,
    punishment_s: 0,
  });
  if (battle.json.data?.phase !== 'fighting') {
    throw new Error(`hot relay's battle is not fighting: ${JSON.stringify(battle.json)}`);
  }
  return { relayId, rooms };
}

/**
 * HOT_CONNECTIONS connections send signed score changes to one relay, spread over the
 * target's nodes: each a new gift (its own score_id, a room, a delta of 1-5 and a user of
 * AUDIENCE) or, one time in ten, a repeat of one of the RECENT last gifts, some still
 * unanswered, as a gift system's retry. `operations` counts the answers that changed the
 * score; exactly one answer per gift may. `finish` sends again the gifts no answer came for
 * (cut off by the end of a window) and checks the database against the gifts (hotRelayCheck).
 */
async function hotRelayLoad(t: Target): Promise<Load> {
  // Made through ours for every target: the ceiling has no group relays and no battles, and
  // serves the relay from the same tables.
  const { relayId, rooms } = await hotRelay(OURS_PORT);
  const path = `/server/relay/${relayId}/score`;
  const gifts = new Map<string, HotGift>();
  const answered = new Set<string>();
  const changedBy = new Map<string, number>();
  const recent: HotGift[] = [];
  let serial = 0;
  let changes = 0;
  let repeats = 0;
  const options = async (): Promise<autocannon.Options> => ({
    // autocannon spreads the connections over a list of URLs, which its types do not declare.
    // One signature fits every node: each checks it against the Host header as sent.
    url: portsOf(t).map((port) => `http://127.0.0.1:${port}`) as unknown as string,
    connections: HOT_CONNECTIONS,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, c) => {
          let gift: HotGift;
          if (recent.length > 0 && Math.random() < REPEAT_SHARE) {
            gift = recent[Math.floor(Math.random() * recent.length)];
            repeats++;
          } else {
            const n = serial++;
            const roomId = rooms[n % rooms.length];
            const userId = `fan_${Math.floor(Math.random() * AUDIENCE)}`;
            const delta = 1 + (n % 5);
            const scoreId = `hot_${t.name.replace(/\W/g, '_')}_${n}`;
            const body = JSON.stringify({
              room_id: roomId,
              delta,
              score_id: scoreId,
              user_id: userId,
            });
            gift = { scoreId, roomId, userId, delta, body };
            gifts.set(scoreId, gift);
            recent[n % RECENT] = gift;
          }
          (c as ScoreContext).scoreId = gift.scoreId;
          return { ...req, path, body: gift.body, headers: serverHeaders(t.port, path, gift.body) };
        },
        onResponse: (status, body, c) => {
          if (status !== 200) return;
          const scoreId = (c as ScoreContext).scoreId ?? '';
          answered.add(scoreId);
          if (body.includes('"duplicate":false')) {
            changes++;
            changedBy.set(scoreId, (changedBy.get(scoreId) ?? 0) + 1);
          }
        },
      },
    ],
  });
  const finish = async (f: Figures): Promise<Figures> => {
    const unanswered = [...gifts.values()].filter((g) => !answered.has(g.scoreId));
    await inTurns(unanswered.length, 16, async (i) => {
      const gift = unanswered[i];
      const r = await send(t.port, 'POST', path, serverHeaders(t.port, path, gift.body), gift.body);
      if (r.status !== 200)
        throw new Error(`gift ${gift.scoreId} failed again: ${JSON.stringify(r)}`);
      if (r.json.data?.duplicate === false) {
        changedBy.set(gift.scoreId, (changedBy.get(gift.scoreId) ?? 0) + 1);
      }
    });
    const check = await hotRelayCheck(relayId, [...gifts.values()], changedBy);
    log(
      `   hot_relay ${t.name}: ${gifts.size} gifts, ${repeats} repeats, ` +
        `${unanswered.length} unanswered sent again; ${JSON.stringify(check)}`,
    );
    return { ...f, ...check, nodes: portsOf(t).length };
  };
  return { target: t, options, finish, operations: () => changes };
}

/**
 * What the database holds after hot_relay against the gifts sent: each gift's
 * relay.score_changed events (none: `lost`; more than one, or more than one answer saying it
 * changed the score: `doubled`), and the relay's score of each room, the battle's, and each
 * contribution (to the relay, battle 0; to the battle, 1) against the sums of the gifts, every
 * tally that differs a `mismatch`. The battle fought through the whole load, so every gift
 * counts for it too.
 */
async function hotRelayCheck(
  relayId: string,
  gifts: HotGift[],
  changedBy: Map<string, number>,
): Promise<{ lost: number; doubled: number; mismatches: number; changes_per_commit: number }> {
  const expected = new Map<string, number>();
  const add = (key: string, amount: number) => expected.set(key, (expected.get(key) ?? 0) + amount);
  for (const g of gifts) {
    add(`relay ${g.roomId}`, g.delta);
    add(`battle ${g.roomId}`, g.delta);
    for (const battleNo of [0, 1]) add(`${battleNo} ${g.roomId} ${g.userId}`, g.delta);
  }
  const actual = new Map<string, number>();
  const events = new Map<string, number>();
  let perCommit = 0;
  await withDatabase(async (c) => {
    const [[session]] = await c.query<RowDataPacket[]>(
      'SELECT scores_json AS scores FROM relay_session WHERE relay_id = ?',
      [relayId],
    );
    for (const [roomId, score] of Object.entries(JSON.parse(session.scores as string))) {
      actual.set(`relay ${roomId}`, score as number);
    }
    const [[battle]] = await c.query<RowDataPacket[]>(
      'SELECT rooms_json AS rooms FROM relay_battle WHERE relay_id = ? AND battle_no = 1',
      [relayId],
    );
    for (const room of JSON.parse(battle.rooms as string) as { roomId: string; score: number }[]) {
      actual.set(`battle ${room.roomId}`, room.score);
    }
    const [contributions] = await c.query<RowDataPacket[]>(
      'SELECT room_id AS roomId, battle_no AS battleNo, user_id AS userId, amount ' +
        'FROM relay_contribution WHERE relay_id = ?',
      [relayId],
    );
    for (const row of contributions) {
      actual.set(`${row.battleNo} ${row.roomId} ${row.userId}`, Number(row.amount));
    }
    const [counted] = await c.query<RowDataPacket[]>(
      "SELECT JSON_VALUE(data, '$.score_id') AS scoreId, COUNT(*) AS n FROM relay_event " +
        "WHERE relay_id = ? AND type = 'relay.score_changed' GROUP BY scoreId",
      [relayId],
    );
    for (const row of counted) events.set(String(row.scoreId), Number(row.n));
    const [[commits]] = await c.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS changes, COUNT(DISTINCT occurred_at) AS times FROM relay_event ' +
        "WHERE relay_id = ? AND type = 'relay.score_changed'",
      [relayId],
    );
    perCommit = Number(commits.changes) / Math.max(1, Number(commits.times));
  });
  let mismatches = 0;
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    // A room nobody gave to has a score of 0 and no contributions: nothing to compare.
    if ((expected.get(key) ?? 0) !== (actual.get(key) ?? 0)) mismatches++;
  }
  const lost = gifts.filter((g) => (events.get(g.scoreId) ?? 0) === 0).length;
  const doubled = gifts.filter(
    (g) => (events.get(g.scoreId) ?? 0) > 1 || (changedBy.get(g.scoreId) ?? 0) > 1,
  ).length;
  return { lost, doubled, mismatches, changes_per_commit: round(perCommit, 1) };
}

/**
 * The seconds from the first battle start to the common end of battle_night's fights: long
 * enough for 1,000 starts on a busy machine, the last of which must still fight 10 s.
 */
const NIGHT_LEAD_S = scale(40, 15);

/**
 * BATTLES relays (rooms inserted, relays started and joined through the server API on both
 * nodes), each with a battle whose fight ends at one moment: each start asks for the whole
 * seconds left until it, so the ends fall within about a second. Then both nodes' timers
 * settle them. Lateness is each battle's move out of `fighting` (its relay.battle_changed
 * event's time) after its fight_end_at; a battle with no such move is `missed`, one with more
 * than one `doubled`.
 */
async function battleNight(t: Target): Promise<Figures> {
  const ports = portsOf(t);
  const rooms = await insertLiveRooms('night', BATTLES * 2);
  const relays: string[] = [];
  await inTurns(BATTLES, 32, async (i) => {
    const port = ports[i % ports.length];
    const [a, b] = [rooms[2 * i], rooms[2 * i + 1]];
    const started = await serverCall(port, '/server/relay/start', {
      app_id: 'default',
      init_room_id: a.roomId,
      recv_room_id: b.roomId,
      recv_user_id: b.userId,
    });
    const relayId = String(started.json.data?.relay_id);
    let status: unknown;
    for (const anchor of [a, b]) {
      const r = await call(
        port,
        'POST',
        `/client/relay/${relayId}/started`,
        clientToken(anchor.userId),
      );
      status = r.json.data?.relay_status;
    }
    if (status !== 4) throw new Error(`relay ${relayId} did not reach 4: ${String(status)}`);
    relays[i] = relayId;
  });
  const endAt = Date.now() + NIGHT_LEAD_S * 1000;
  await inTurns(BATTLES, 32, async (i) => {
    const port = ports[i % ports.length];
    const durationS = Math.round((endAt - Date.now()) / 1000);
    if (durationS < 10)
      throw new Error('starting the battles took longer than NIGHT_LEAD_S allows');
    const r = await serverCall(port, `/server/relay/${relays[i]}/battles`, {
      duration_s: durationS,
      countdown_s: 0,
      punishment_s: 0,
    });
    if (r.json.data?.phase !== 'fighting') {
      throw new Error(`battle of ${relays[i]} is not fighting: ${JSON.stringify(r.json)}`);
    }
  });
  log(
    `   battle_night: ${BATTLES} battles fighting, ending in ${round((endAt - Date.now()) / 1000, 1)} s`,
  );
  type Move = { relayId: string; due: number; at: number | null };
  const moves = async () =>
    withDatabase(async (c) => {
      const [rows] = await c.query<RowDataPacket[]>(
        'SELECT b.relay_id AS relayId, b.fight_end_at AS due, e.occurred_at AS at ' +
          'FROM relay_battle b LEFT JOIN relay_event e ON e.relay_id = b.relay_id ' +
          "AND e.type = 'relay.battle_changed' AND JSON_VALUE(e.data, '$.from') = 'fighting' " +
          'WHERE b.relay_id IN (?)',
        [relays],
      );
      return rows.map((r): Move => ({
        relayId: String(r.relayId),
        due: Number(r.due),
        at: r.at === null ? null : Number(r.at),
      }));
    });
  // Measured from a second before the first due time until every battle has moved, or 15 s
  // after the last due time.
  let found: Move[] = [];
  const [, usage] = await observe(pidsOf(t), async () => {
    const dues = (await moves()).map((m) => m.due);
    const last = Math.max(...dues);
    await sleep(Math.min(...dues) - 1000 - Date.now());
    do {
      await sleep(500);
      found = await moves();
    } while (found.some((m) => m.at === null) && Date.now() < last + 15_000);
  });
  const byRelay = new Map<string, Move[]>();
  for (const m of found) byRelay.set(m.relayId, [...(byRelay.get(m.relayId) ?? []), m]);
  const lateness: number[] = [];
  let missed = 0;
  let doubled = 0;
  for (const list of byRelay.values()) {
    const made = list.filter((m) => m.at !== null).map((m) => (m.at as number) - m.due);
    if (made.length === 0) missed++;
    else lateness.push(Math.min(...made));
    if (made.length > 1) doubled += made.length - 1;
  }
  missed += BATTLES - byRelay.size;
  lateness.sort((x, y) => x - y);
  const dues = found.map((m) => m.due);
  const f: Figures = {
    rps: 0,
    p50_ms: round(percentile(lateness, 50), 1),
    p99_ms: round(percentile(lateness, 99), 1),
    max_ms: round(lateness[lateness.length - 1] ?? NaN, 1),
    rss_mb: round(usage.rss, 1),
    errors: 0,
    cpu_us_per_op: round(usage.cpu / Math.max(1, lateness.length), 1),
    nodes: ports.length,
    battles: BATTLES,
    doubled,
    missed,
    due_spread_ms: Math.max(...dues) - Math.min(...dues),
  };
  // Moves per second, from the first due time to the last move.
  const span = Math.max(...found.map((m) => m.at ?? 0)) - Math.min(...dues);
  f.rps = round(lateness.length / Math.max(0.001, span / 1000), 1);
  log(`   battle_night ours: ${JSON.stringify(f)}`);
  return f;
}

interface Ticket {
  match_id: string;
  state: string;
  relay_id: string;
}

/**
 * ANCHORS anchors of live rooms (inserted) ask for a random PK within BURST_MS, each request at
 * its own moment, alternately on the two nodes; p50/p99 are their answer times. Then the
 * tickets still waiting are read until they match (10 s at most). `violations`: relays with
 * other than two tickets, or whose rooms in the database are not those two tickets' rooms;
 * rooms in more than one relay; and, when two or more tickets are left waiting, each of them
 * (one waited while another did, and they were not matched together).
 */
async function matchBurst(t: Target): Promise<Figures> {
  const ports = portsOf(t);
  const rooms = await insertLiveRooms('burst', ANCHORS);
  const tokens = rooms.map((r) => clientToken(r.userId));
  // A socket for each request in flight, so that the bench's own queue adds no waiting.
  const burstAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const tickets: Ticket[] = [];
  const latencies: number[] = [];
  let errors = 0;
  const [, usage] = await observe(pidsOf(t), async () => {
    const began = performance.now();
    await Promise.all(
      rooms.map(async (room, i) => {
        await sleep(began + (i * BURST_MS) / ANCHORS - performance.now());
        const sent = performance.now();
        const r = await call(
          ports[i % ports.length],
          'POST',
          '/client/relay/match',
          tokens[i],
          {
            room_id: room.roomId,
          },
          burstAgent,
        ).catch(() => null);
        latencies.push(performance.now() - sent);
        if (r === null || r.json.code !== 0) errors++;
        tickets[i] = (r?.json.data ?? {
          match_id: '',
          state: 'failed',
          relay_id: '',
        }) as unknown as Ticket;
      }),
    );
  });
  const until = Date.now() + 10_000;
  let waiting = tickets.flatMap((ticket, i) => (ticket.state === 'waiting' ? [i] : []));
  while (waiting.length > 0 && Date.now() < until) {
    await sleep(250);
    const reading = waiting;
    await inTurns(reading.length, 32, async (n) => {
      const i = reading[n];
      const r = await call(t.port, 'GET', `/client/relay/match/${tickets[i].match_id}`, tokens[i]);
      if (r.json.code === 0) tickets[i] = r.json.data as unknown as Ticket;
    });
    waiting = waiting.filter((i) => tickets[i].state === 'waiting');
  }
  burstAgent.destroy();
  const byRelay = new Map<string, string[]>();
  tickets.forEach((ticket, i) => {
    if (ticket.state !== 'matched') return;
    byRelay.set(ticket.relay_id, [...(byRelay.get(ticket.relay_id) ?? []), rooms[i].roomId]);
  });
  const members = await withDatabase(async (c) => {
    const [rows] = await c.query<RowDataPacket[]>(
      'SELECT s.relay_id AS relayId, m.room_id AS roomId FROM relay_member m ' +
        'JOIN relay_session s ON s.id = m.session_id WHERE m.room_id IN (?)',
      [rooms.map((r) => r.roomId)],
    );
    return rows.map((r) => ({ relayId: String(r.relayId), roomId: String(r.roomId) }));
  });
  let violations = 0;
  for (const [relayId, matchedRooms] of byRelay) {
    const inDatabase = members.filter((m) => m.relayId === relayId).map((m) => m.roomId);
    const same =
      matchedRooms.length === 2 &&
      inDatabase.length === 2 &&
      matchedRooms.every((roomId) => inDatabase.includes(roomId));
    if (!same) violations++;
  }
  const relaysOfRoom = new Map<string, number>();
  for (const m of members) relaysOfRoom.set(m.roomId, (relaysOfRoom.get(m.roomId) ?? 0) + 1);
  for (const n of relaysOfRoom.values()) if (n > 1) violations++;
  if (waiting.length > 1) violations += waiting.length;
  latencies.sort((x, y) => x - y);
  const f: Figures = {
    rps: round((ANCHORS * 1000) / BURST_MS, 1),
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
    rss_mb: round(usage.rss, 1),
    errors,
    cpu_us_per_op: round(usage.cpu / ANCHORS, 1),
    nodes: ports.length,
    anchors: ANCHORS,
    matched: tickets.filter((ticket) => ticket.state === 'matched').length,
    violations,
  };
  log(`   match_burst ours: ${JSON.stringify(f)}; ${waiting.length} left waiting`);
  return f;
}

/**
 * A relay whose first room has CONTRIBUTORS contributors over the whole relay (inserted in
 * bulk, amounts with ties), then its ranking over HTTP: the first page and page DEEP_PAGE
 * (its cursor found by walking the pages once), measured in turns like the request scenarios.
 * Both pages are checked against the same ranking read with OFFSET in SQL (`errors`).
 */
async function contributionsScenario(t: Target): Promise<Figures> {
  const [{ relayId, pair }] = await scoringRelays(t.port, 1);
  const now = Date.now();
  await withDatabase(async (c) => {
    for (let from = 0; from < CONTRIBUTORS; from += 5000) {
      const rows = Array.from({ length: Math.min(5000, CONTRIBUTORS - from) }, (_, j) => {
        const n = from + j;
        // Amounts from 1 to 50,000 in a scattered order, so that many contributors tie.
        return [
          relayId,
          pair.roomA,
          0,
          `fan_${n}`,
          1 + ((n * 7919) % 50_000),
          now - (n % 3600) * 1000,
        ];
      });
      await c.query(
        'INSERT INTO relay_contribution (relay_id, room_id, battle_no, user_id, amount, reached_at) VALUES ?',
        [rows],
      );
    }
  });
  const base = `/client/relay/${relayId}/contributions?room_id=${pair.roomA}&limit=${PAGE}`;
  type Page = { list: { user_id: string; rank: number }[]; next_cursor: string | null };
  const page = async (cursor: string | null): Promise<Page> => {
    const r = await call(
      t.port,
      'GET',
      cursor === null ? base : `${base}&cursor=${cursor}`,
      pair.tokenA,
    );
    if (r.json.code !== 0) throw new Error(`contributions answered ${JSON.stringify(r.json)}`);
    return r.json.data as unknown as Page;
  };
  let cursor: string | null = null;
  for (let n = 1; n < DEEP_PAGE; n++) cursor = (await page(cursor)).next_cursor;
  if (cursor === null) throw new Error(`the ranking has fewer than ${DEEP_PAGE} pages`);
  let errors = 0;
  for (const [n, at] of [
    [1, null],
    [DEEP_PAGE, cursor],
  ] as const) {
    const got = await page(at);
    const [rows] = await withDatabase((c) =>
      c.query<RowDataPacket[]>(
        'SELECT user_id AS userId FROM relay_contribution WHERE relay_id = ? AND room_id = ? ' +
          'AND battle_no = 0 ORDER BY amount DESC, reached_at, user_id LIMIT ? OFFSET ?',
        [relayId, pair.roomA, PAGE, (n - 1) * PAGE],
      ),
    );
    const right =
      got.list.length === PAGE &&
      got.list.every((e, i) => e.user_id === rows[i].userId && e.rank === (n - 1) * PAGE + i + 1);
    if (!right) {
      errors++;
      log(`   contributions: page ${n} is not the ranking's page ${n}`);
    }
  }
  const load = (name: string, path: string): Load => ({
    target: { ...t, name },
    options: async () => ({
      url: `http://127.0.0.1:${t.port}`,
      connections: CONTRIBUTION_CONNECTIONS,
      requests: [{ method: 'GET', path, headers: { authorization: `Bearer ${pair.tokenA}` } }],
    }),
  });
  const [first, deep] = await compare('contributions', [
    load('first page', base),
    load(`page ${DEEP_PAGE}`, `${base}&cursor=${cursor}`),
  ]);
  return {
    ...first,
    errors: first.errors + deep.errors + errors,
    // The CPU of both pages' requests, per request.
    cpu_us_per_op: round(
      (first.cpu_us_per_op * first.rps + deep.cpu_us_per_op * deep.rps) / (first.rps + deep.rps),
      1,
    ),
    contributors: CONTRIBUTORS,
    deep_p50_ms: deep.p50_ms,
    deep_p99_ms: deep.p99_ms,
  };
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
  const latencies: number[] = [];
  const sizes: number[] = [];
  let windowMs = 0;
  const [, usage] = await observe(pidsOf(t), async () => {
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
  const [windowMs, usage] = await observe(pidsOf(t), async () => {
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

/** Where a scenario checks correctness: lost gifts, missing or misordered frames, and the rest. */
function checks(f: Figures): string {
  const parts: string[] = [];
  const show = (label: string, value: number | undefined) => {
    if (value !== undefined) parts.push(`${label} ${value}`);
  };
  show('nodes', f.nodes);
  show('lost', f.lost);
  show('doubled', f.doubled);
  show('mismatches', f.mismatches);
  show('changes/commit', f.changes_per_commit);
  show('missing', f.missing);
  show('out_of_order', f.out_of_order);
  show('battles', f.battles);
  show('max ms', f.max_ms);
  show('missed', f.missed);
  show('due spread ms', f.due_spread_ms);
  show('anchors', f.anchors);
  show('matched', f.matched);
  show('violations', f.violations);
  show('contributors', f.contributors);
  show(`page ${DEEP_PAGE} p50 ms`, f.deep_p50_ms);
  show(`page ${DEEP_PAGE} p99 ms`, f.deep_p99_ms);
  return parts.join(', ');
}

const WHO = { ours: 'ours', ours_3_nodes: 'ours (3 nodes)', ceiling: 'ceiling' } as const;

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
    for (const who of ['ours', 'ours_3_nodes', 'ceiling'] as const) {
      const f = r[who];
      if (!f) continue;
      const name = who === 'ceiling' && r.scenario === 'fanout' ? 'floor' : WHO[who];
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

/** Issue 24's targets of the scenarios that ran, each with the figure this run measured. */
function targets(results: Result[]): string[] {
  const of = (scenario: Scenario) => results.find((r) => r.scenario === scenario);
  const lines: string[] = [];
  const check = (
    what: string,
    value: number | undefined,
    bound: 'at most' | 'at least',
    limit: number,
  ) => {
    // Nothing to judge: the scenario did not run, or its comparison did no work at all.
    if (value === undefined || !Number.isFinite(value)) return;
    const met = bound === 'at most' ? value <= limit : value >= limit;
    lines.push(`${met ? 'met   ' : 'MISSED'} ${what}: ${round(value, 2)} (${bound} ${limit})`);
  };
  const hot = of('hot_relay');
  if (hot?.ceiling) {
    for (const [label, f] of [
      ['1 node', hot.ours],
      ['3 nodes', hot.ours_3_nodes],
    ] as const) {
      if (!f) continue;
      check(`hot_relay, ${label}: rps / ceiling rps`, f.rps / hot.ceiling.rps, 'at least', 2);
      check(`hot_relay, ${label}: rps`, f.rps, 'at least', 2000);
      check(`hot_relay, ${label}: p99 ms`, f.p99_ms, 'at most', 100);
    }
  }
  check('battle_night: p99 ms', of('battle_night')?.ours.p99_ms, 'at most', 2000);
  check('battle_night: max ms', of('battle_night')?.ours.max_ms, 'at most', 3000);
  check('match_burst: p99 ms', of('match_burst')?.ours.p99_ms, 'at most', 500);
  check('contributions: first page p99 ms', of('contributions')?.ours.p99_ms, 'at most', 20);
  check(
    `contributions: page ${DEEP_PAGE} p99 ms`,
    of('contributions')?.ours.deep_p99_ms,
    'at most',
    20,
  );
  const fan = of('fanout');
  if (fan?.ceiling) {
    check('fanout: p99 / floor p99', fan.ours.p99_ms / fan.ceiling.p99_ms, 'at most', 1.5);
    check('fanout: RSS MB', fan.ours.rss_mb, 'at most', 500);
  }
  check('read: cpu_ratio', of('read')?.cpu_ratio ?? undefined, 'at least', 0.9);
  check('lifecycle: cpu_ratio', of('lifecycle')?.cpu_ratio ?? undefined, 'at least', 0.9);
  return lines;
}

function ourProcess(port: number, profile: boolean): ChildProcess {
  const child = startProcess(
    profile && CPU_PROF_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, 'dist/main.js']
      : ['dist/main.js'],
    port,
  );
  children.push(child);
  return child;
}

async function main(): Promise<void> {
  // Built here rather than in the npm script, so that --help needs no build.
  if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
    throw new Error('npm run build failed');
  }
  const began = Date.now();
  const selected = (scenario: Scenario) => ARGS.only.includes(scenario);
  log(
    `bench: database ${DB_NAME}, ${CONNECTIONS} connections, ${WARMUP_S}s warm-up + ` +
      `${DURATION_S}s${QUICK ? ', quick' : ''}; ${ARGS.only.join(', ')}`,
  );
  if (SUBSCRIBERS < SUBSCRIBERS_ASKED && ARGS.only.includes('fanout')) {
    log(
      `   fanout: ${SUBSCRIBERS} streams instead of ${SUBSCRIBERS_ASKED}: the open-file limit ` +
        `is ${openFileLimit()} (ulimit -Hn), and each end needs ${FD_HEADROOM} files besides`,
    );
  }
  await admin(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  await admin(`CREATE DATABASE ${DB_NAME} CHARACTER SET utf8mb4`);

  const ours: Target = { name: 'ours', port: OURS_PORT, child: ourProcess(OURS_PORT, true) };
  await waitForPort(OURS_PORT);
  if (selected('read')) {
    log(`   ours is up (migrations ran); seeding ${SEEDED} sessions`);
    const seeding = performance.now();
    await seed();
    log(`   seeded in ${round((performance.now() - seeding) / 1000, 1)} s`);
  }
  // Further nodes start once the first has run the migrations; they idle until their scenarios.
  const nodes: Target[] = [];
  const nodeCount = selected('hot_relay')
    ? 2
    : selected('battle_night') || selected('match_burst')
      ? 1
      : 0;
  for (const port of NODE_PORTS.slice(0, nodeCount)) {
    nodes.push({ name: `ours ${port}`, port, child: ourProcess(port, false) });
    await waitForPort(port);
  }

  transpileComparisons();
  const requests = ['read', 'lifecycle', 'score', 'hot_relay'] as const;
  const ceiling: Target | null = requests.some(selected)
    ? {
        name: 'ceiling',
        port: CEILING_PORT,
        child: startProcess(
          CPU_PROF_DIR
            ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}/ceiling`, 'dist/bench/ceiling.js']
            : ['dist/bench/ceiling.js'],
          CEILING_PORT,
        ),
      }
    : null;
  if (ceiling) {
    children.push(ceiling.child);
    await waitForPort(CEILING_PORT);
  }

  const results: Result[] = [];
  const compared = (scenario: Scenario, o: Figures, c: Figures, extra: Partial<Result> = {}) => {
    results.push({
      scenario,
      ours: o,
      ...extra,
      ceiling: c,
      ratio: round(o.rps / c.rps, 3),
      cpu_ratio: round(c.cpu_us_per_op / o.cpu_us_per_op, 3),
    });
  };
  const alone = (scenario: Scenario, o: Figures) =>
    results.push({ scenario, ours: o, ceiling: null, ratio: null, cpu_ratio: null });
  const loads = [
    ['read', readLoad],
    ['lifecycle', lifecycleLoad],
    ['score', scoreLoad],
  ] as const;
  for (const [scenario, load] of loads) {
    if (!selected(scenario) || ceiling === null) continue;
    const [o, c] = await compare(scenario, [await load(ours), await load(ceiling)]);
    compared(scenario, o, c);
  }
  if (selected('hot_relay') && ceiling) {
    const cluster: Target = { ...ours, name: 'ours, 3 nodes', nodes };
    const [one, three, c] = await compare('hot_relay', [
      await hotRelayLoad(ours),
      await hotRelayLoad(cluster),
      await hotRelayLoad(ceiling),
    ]);
    compared('hot_relay', one, c, { ours_3_nodes: three });
  }
  // The third node has done its part: battle_night and match_burst run on two.
  if (nodes.length > 1) stop(nodes.pop() as Target);
  // No more ceiling from here on: the other scenarios get the machine.
  if (ceiling) stop(ceiling);
  if (selected('contributions')) alone('contributions', await contributionsScenario(ours));
  const pair: Target = { ...ours, name: 'ours, 2 nodes', nodes };
  if (selected('battle_night')) alone('battle_night', await battleNight(pair));
  if (selected('match_burst')) alone('match_burst', await matchBurst(pair));
  for (const node of nodes) stop(node);
  if (selected('fanout')) {
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
  }
  if (selected('pk_live')) alone('pk_live', await pkLiveScenario(ours));

  log('');
  log(table(results));
  log('');
  for (const line of targets(results)) log(line);
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

main()
  .then(cleanup)
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup();
    process.exit(1);
  });
