/**
 * The ceiling: a bare Fastify + mysql2 server doing the essential work of each benchmarked
 * endpoint (verify the HS256 token or the server API's Qiniu MAC, the same SQL in the same
 * transactions, the same session view and JSON envelope) and nothing else. Run as its own
 * process by bench/run.ts, transpiled to dist/bench/ceiling.js; by hand:
 *   PORT=... DATABASE_URL=mysql://... node -r ts-node/register/transpile-only bench/ceiling.ts
 */
import { createHmac, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import Fastify, { FastifyReply, FastifyRequest } from 'fastify';
import { verify } from 'jsonwebtoken';
import { createPool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { BENCH_KEYS, qiniuSign } from './common';

const USAGE = `Usage: PORT=8090 DATABASE_URL=mysql://root@127.0.0.1:3306/relay_bench \\
  node -r ts-node/register/transpile-only bench/ceiling.ts

The benchmark's ceiling server, normally started by npm run bench. It expects the tables that
the service's migrations create in that database.
`;

try {
  if (parseArgs({ options: { help: { type: 'boolean', short: 'h' } } }).values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
} catch (error) {
  // parseArgs explains itself in its first sentence; the rest is a hint about `--`.
  process.stderr.write(`${String((error as Error).message).split('. ')[0]}\n\n${USAGE}`);
  process.exit(2);
}

const JWT_KEY = createSecretKey(Buffer.from(BENCH_KEYS.jwtSecret));
const TOKEN_TTL_S = 3600;

const pool = createPool({ uri: process.env.DATABASE_URL, connectionLimit: 20 });

interface User {
  userId: string;
  appId: string;
}

class Fail extends Error {
  constructor(
    readonly http: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function auth(request: FastifyRequest): User {
  const header = request.headers.authorization;
  if (typeof header !== 'string') throw new Fail(401, 401, 'missing token');
  const token = header.startsWith('Bearer ') ? header.slice(7) : header;
  let claims: { UserId?: unknown; AppId?: unknown };
  try {
    claims = verify(token, JWT_KEY, { algorithms: ['HS256'] }) as typeof claims;
  } catch {
    throw new Fail(401, 401, 'bad token');
  }
  if (typeof claims.UserId !== 'string') throw new Fail(401, 401, 'no UserId');
  return {
    userId: claims.UserId,
    appId: typeof claims.AppId === 'string' ? claims.AppId : 'default',
  };
}

const pad = (n: number) => (n < 10 ? '0' : '') + n;
function time(ms: number | null): string | null {
  if (ms === null) return null;
  const d = new Date(Number(ms));
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

const COLUMNS =
  'id, relay_id AS relayId, app_id AS appId, init_user_id AS initUserId, ' +
  'init_room_id AS initRoomId, recv_user_id AS recvUserId, recv_room_id AS recvRoomId, status, ' +
  'stop_reason AS stopReason, duration_s AS durationS, extends_json AS extendsJson, ' +
  'rooms_json AS roomsJson, scores_json AS scoresJson, battle_json AS battleJson, origin, version, ' +
  'start_at AS startAt, stop_at AS stopAt, deadline_at AS deadlineAt, ' +
  'created_at AS createdAt, updated_at AS updatedAt';

const ROOM_COLUMNS =
  'live_id AS liveId, app_id AS appId, title, notice, cover_url AS coverUrl, ' +
  'extends_json AS extendsJson, anchor_id AS anchorId, live_status AS liveStatus, pk_id AS pkId, ' +
  'start_at AS startAt, end_at AS endAt, heartbeat_at AS heartbeatAt, ' +
  'created_at AS createdAt, updated_at AS updatedAt';

interface Session {
  id: number;
  relayId: string;
  appId: string;
  initUserId: string;
  initRoomId: string;
  recvUserId: string;
  recvRoomId: string;
  status: number;
  stopReason: string;
  durationS: number | null;
  extendsJson: string;
  roomsJson: string;
  scoresJson: string;
  /** The view of the newest battle, or null. */
  battleJson: string | null;
  origin: string;
  version: number;
  startAt: number | null;
  stopAt: number | null;
  deadlineAt: number | null;
  createdAt: number;
  updatedAt: number;
}

interface Room {
  roomId: string;
  userId: string;
  role: 'init' | 'recv';
  state: string;
  reason: string;
  agreedAt: number | null;
}

/** "" until the relay ends; then the room with the strictly highest score, "" on a tie. */
function winnerOf(status: number, scores: Record<string, number>): string {
  if (status !== 5 && status !== 6) return '';
  const ranked = Object.entries(scores).sort(([, a], [, b]) => b - a);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[1][1] === ranked[0][1])) return '';
  return ranked[0][0];
}

function view(s: Session) {
  const scores = JSON.parse(s.scoresJson) as Record<string, number>;
  return {
    sid: s.relayId,
    relay_id: s.relayId,
    app_id: s.appId,
    init_user_id: s.initUserId,
    init_room_id: s.initRoomId,
    recv_room_id: s.recvRoomId,
    recv_user_id: s.recvUserId,
    rooms: (JSON.parse(s.roomsJson) as Room[]).map((r) => ({
      room_id: r.roomId,
      user_id: r.userId,
      role: r.role,
      state: r.state,
      reason: r.reason,
    })),
    status: s.status,
    stop_reason: s.stopReason,
    start_at: time(s.startAt),
    stop_at: time(s.stopAt),
    created_at: time(s.createdAt),
    updated_at: time(s.updatedAt),
    duration_s: s.durationS,
    extends: JSON.parse(s.extendsJson) as Record<string, string>,
    scores,
    winner_room_id: winnerOf(s.status, scores),
    origin: s.origin,
    battle: s.battleJson === null ? null : (JSON.parse(s.battleJson) as object),
  };
}

const b64 = (data: Buffer | string) =>
  Buffer.from(data).toString('base64').replace(/\//g, '_').replace(/\+/g, '-');

function roomToken(roomName: string, userId: string): string {
  const encoded = b64(
    JSON.stringify({
      appId: BENCH_KEYS.rtcAppId,
      roomName,
      userId,
      expireAt: Math.floor(Date.now() / 1000) + TOKEN_TTL_S,
      permission: 'user',
    }),
  );
  const signature = b64(createHmac('sha1', BENCH_KEYS.qiniuSecretKey).update(encoded).digest());
  return `${BENCH_KEYS.qiniuAccessKey}:${signature}:${encoded}`;
}

async function transaction<T>(work: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await pool.getConnection();
  try {
    await c.query('START TRANSACTION');
    try {
      const result = await work(c);
      await c.query('COMMIT');
      return result;
    } catch (error) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    c.release();
  }
}

async function rows<T>(c: PoolConnection | typeof pool, sql: string, params: unknown[]) {
  const [result] = await c.query<RowDataPacket[]>(sql, params);
  return result as unknown as T[];
}

async function run(c: PoolConnection, sql: string, params: unknown[]): Promise<ResultSetHeader> {
  const [result] = await c.query<ResultSetHeader>(sql, params);
  return result;
}

function normalize(s: Session): Session {
  // mysql2 answers BIGINT as numbers for these magnitudes; the version check needs numbers.
  s.id = Number(s.id);
  return s;
}

async function appendEvent(c: PoolConnection, type: string, s: Session, data: object) {
  await run(
    c,
    'INSERT INTO relay_event (type, relay_id, app_id, seq, occurred_at, data, user_ids, room_ids) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [
      type,
      s.relayId,
      s.appId,
      s.version,
      s.updatedAt,
      JSON.stringify({ ...data, session: view(s) }),
      `,${s.initUserId},${s.recvUserId},`,
      `,${s.initRoomId},${s.recvRoomId},`,
    ],
  );
}

async function updateSession(c: PoolConnection, next: Session): Promise<void> {
  const r = await run(
    c,
    'UPDATE relay_session SET rooms_json = ?, status = ?, stop_reason = ?, extends_json = ?, ' +
      'scores_json = ?, battle_json = ?, version = ?, start_at = ?, stop_at = ?, deadline_at = ?, ' +
      'updated_at = ? WHERE id = ? AND version = ?',
    [
      next.roomsJson,
      next.status,
      next.stopReason,
      next.extendsJson,
      next.scoresJson,
      next.battleJson,
      next.version,
      next.startAt,
      next.stopAt,
      next.deadlineAt,
      next.updatedAt,
      next.id,
      next.version - 1,
    ],
  );
  if (r.affectedRows !== 1) throw new Fail(409, 601, 'concurrent update');
}

/** The relay locked; `user` null for the server API, which reaches every app's relays. */
async function lockedSession(
  c: PoolConnection,
  relayId: string,
  user: User | null,
): Promise<Session> {
  const [s] = await rows<Session>(
    c,
    `SELECT ${COLUMNS} FROM relay_session WHERE relay_id = ?` +
      (user === null ? '' : ' AND app_id = ?') +
      ' FOR UPDATE',
    user === null ? [relayId] : [relayId, user.appId],
  );
  if (!s) throw new Fail(404, 404, 'relay not found');
  return normalize(s);
}

function sideOf(s: Session, user: User): 'init' | 'recv' {
  if (user.userId === s.initUserId) return 'init';
  if (user.userId === s.recvUserId) return 'recv';
  throw new Fail(403, 403, 'not an anchor');
}

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

// The server API's signature covers the body as sent, so JSON bodies keep their text.
const rawBodies = new WeakMap<object, string>();
app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
  const text = body as string;
  rawBodies.set(request.raw, text);
  try {
    done(null, text.length === 0 ? undefined : JSON.parse(text));
  } catch {
    done(new Fail(400, 400, 'bad JSON'), undefined);
  }
});

/** The Qiniu MAC check of the server API, for the one signing string the bench uses. */
function serverAuth(request: FastifyRequest): void {
  const match = /^Qiniu ([^:\s]+):([A-Za-z0-9_=-]+)$/.exec(request.headers.authorization ?? '');
  if (!match || match[1] !== BENCH_KEYS.serverAccessKey) throw new Fail(401, 401, 'bad MAC');
  const expected = Buffer.from(
    qiniuSign(
      request.method,
      request.raw.url ?? request.url,
      request.headers.host ?? '',
      rawBodies.get(request.raw) ?? '',
    ),
  );
  const given = Buffer.from(match[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new Fail(401, 401, 'bad MAC');
  }
}

function send(reply: FastifyReply, data: unknown): FastifyReply {
  const requestId = randomUUID();
  return reply
    .header('x-request-id', requestId)
    .send({ request_id: requestId, code: 0, message: 'success', data });
}

app.setErrorHandler((error, _request, reply) => {
  const requestId = randomUUID();
  const fail = error instanceof Fail ? error : new Fail(500, 500, 'internal error');
  if (!(error instanceof Fail)) process.stderr.write(`ceiling: ${String(error)}\n`);
  void reply
    .status(fail.http)
    .header('x-request-id', requestId)
    .send({ request_id: requestId, code: fail.code, message: fail.message });
});

type IdParams = { Params: { id: string } };

app.post<{ Body: { title?: string } }>('/client/live/room/instance', async (request, reply) => {
  const user = auth(request);
  const now = Date.now();
  const liveId = `room_${randomUUID().replace(/-/g, '')}`;
  await transaction((c) =>
    run(
      c,
      'INSERT INTO live_room (live_id, app_id, title, notice, cover_url, extends_json, anchor_id, ' +
        'live_status, pk_id, start_at, end_at, heartbeat_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        liveId,
        user.appId,
        request.body?.title ?? '',
        '',
        '',
        '{}',
        user.userId,
        0,
        '',
        null,
        null,
        null,
        now,
        now,
      ],
    ),
  );
  return send(reply, { live_id: liveId });
});

app.put<IdParams>('/client/live/room/:id', async (request, reply) => {
  const user = auth(request);
  await transaction(async (c) => {
    const [room] = await rows<{ anchorId: string }>(
      c,
      `SELECT ${ROOM_COLUMNS} FROM live_room WHERE live_id = ? AND app_id = ? FOR UPDATE`,
      [request.params.id, user.appId],
    );
    if (!room || room.anchorId !== user.userId) throw new Fail(404, 404, 'room not found');
    const now = Date.now();
    await run(
      c,
      'UPDATE live_room SET live_status = ?, start_at = ?, end_at = ?, heartbeat_at = ?, updated_at = ? ' +
        'WHERE live_id = ?',
      [1, now, null, now, now, request.params.id],
    );
  });
  return send(reply, { live_id: request.params.id, live_status: 1 });
});

app.get<IdParams>('/client/relay/:id', async (request, reply) => {
  const user = auth(request);
  const [s] = await rows<Session>(
    pool,
    `SELECT ${COLUMNS} FROM relay_session WHERE relay_id = ? AND app_id = ?`,
    [request.params.id, user.appId],
  );
  if (!s) throw new Fail(404, 404, 'relay not found');
  return send(reply, view(s));
});

interface StartBody {
  init_room_id: string;
  recv_room_id: string;
  recv_user_id: string;
  mode?: string;
}

app.post<{ Body: StartBody }>('/client/relay/start', async (request, reply) => {
  const user = auth(request);
  const b = request.body;
  if (typeof b?.init_room_id !== 'string' || typeof b.recv_room_id !== 'string') {
    throw new Fail(400, 400, 'bad body');
  }
  if (b.init_room_id === b.recv_room_id || b.recv_user_id === user.userId) {
    throw new Fail(400, 400, 'bad pair');
  }
  const s = await transaction(async (c) => {
    type LockedRoom = { liveId: string; anchorId: string; liveStatus: number; pkId: string };
    const rooms: LockedRoom[] = [];
    for (const id of [b.init_room_id, b.recv_room_id].sort()) {
      rooms.push(
        ...(await rows<LockedRoom>(
          c,
          `SELECT ${ROOM_COLUMNS} FROM live_room WHERE live_id = ? AND app_id = ? FOR UPDATE`,
          [id, user.appId],
        )),
      );
    }
    const init = rooms.find((r) => r.liveId === b.init_room_id);
    const recv = rooms.find((r) => r.liveId === b.recv_room_id);
    if (!init) throw new Fail(404, 404, 'no init room');
    if (init.anchorId !== user.userId) throw new Fail(403, 403, 'not the anchor');
    if (!recv || recv.anchorId !== b.recv_user_id) throw new Fail(404, 404, 'no recv room');
    for (const r of [init, recv]) if (r.liveStatus !== 1) throw new Fail(409, 601, 'not live');
    for (const r of [init, recv]) if (r.pkId !== '') throw new Fail(409, 601, 'relaying');
    const now = Date.now();
    const auto = b.mode !== 'invite';
    const s: Session = {
      id: 0,
      relayId: `relay_${randomUUID().replace(/-/g, '')}`,
      appId: user.appId,
      initUserId: user.userId,
      initRoomId: init.liveId,
      recvUserId: recv.anchorId,
      recvRoomId: recv.liveId,
      status: auto ? 1 : 0,
      stopReason: '',
      durationS: null,
      extendsJson: '{}',
      scoresJson: JSON.stringify({ [init.liveId]: 0, [recv.liveId]: 0 }),
      battleJson: null,
      origin: 'invite',
      roomsJson: JSON.stringify(
        [init, recv].map((r, i): Room => ({
          roomId: r.liveId,
          userId: r.anchorId,
          role: i === 0 ? 'init' : 'recv',
          state: i === 0 || auto ? 'agreed' : 'invited',
          reason: '',
          agreedAt: auto ? now : null,
        })),
      ),
      version: 1,
      startAt: auto ? now : null,
      stopAt: null,
      deadlineAt: null,
      createdAt: now,
      updatedAt: now,
    };
    for (const r of [init, recv].sort((x, y) => (x.liveId < y.liveId ? -1 : 1))) {
      const claimed = await run(
        c,
        "UPDATE live_room SET pk_id = ?, updated_at = ? WHERE live_id = ? AND pk_id = '' AND live_status = ?",
        [s.relayId, now, r.liveId, 1],
      );
      if (claimed.affectedRows !== 1) throw new Fail(409, 601, 'relaying');
    }
    const inserted = await run(
      c,
      'INSERT INTO relay_session (relay_id, rooms_json, app_id, init_user_id, init_room_id, ' +
        'recv_user_id, recv_room_id, status, stop_reason, duration_s, extends_json, scores_json, ' +
        'version, start_at, stop_at, deadline_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        s.relayId,
        s.roomsJson,
        s.appId,
        s.initUserId,
        s.initRoomId,
        s.recvUserId,
        s.recvRoomId,
        s.status,
        s.stopReason,
        s.durationS,
        s.extendsJson,
        s.scoresJson,
        s.version,
        s.startAt,
        s.stopAt,
        s.deadlineAt,
        s.createdAt,
        s.updatedAt,
      ],
    );
    await run(
      c,
      'INSERT INTO relay_member (app_id, user_id, session_id, role) VALUES (?, ?, ?, ?), (?, ?, ?, ?)',
      [
        s.appId,
        s.initUserId,
        inserted.insertId,
        'init',
        s.appId,
        s.recvUserId,
        inserted.insertId,
        'recv',
      ],
    );
    await appendEvent(c, 'relay.status_changed', s, { from: null, to: s.status, reason: '' });
    return s;
  });
  const token = s.status >= 1 ? roomToken(s.recvRoomId, s.initUserId) : '';
  return send(reply, {
    relay_id: s.relayId,
    relay_status: s.status,
    relay_token: token,
    relay_tokens: token === '' ? [] : [{ room_id: s.recvRoomId, relay_token: token }],
  });
});

app.get<IdParams>('/client/relay/:id/token', async (request, reply) => {
  const user = auth(request);
  const [s] = await rows<Session>(
    pool,
    `SELECT ${COLUMNS} FROM relay_session WHERE relay_id = ? AND app_id = ?`,
    [request.params.id, user.appId],
  );
  if (!s) throw new Fail(404, 404, 'relay not found');
  const side = sideOf(s, user);
  if (s.status < 1 || s.status > 4) throw new Fail(409, 601, 'no token');
  const other = side === 'init' ? s.recvRoomId : s.initRoomId;
  const token = roomToken(other, side === 'init' ? s.initUserId : s.recvUserId);
  return send(reply, {
    relay_id: s.relayId,
    relay_status: s.status,
    relay_token: token,
    relay_tokens: [{ room_id: other, relay_token: token }],
  });
});

/** The same decision as the machine for the two anchor moves benchmarked: started and stop. */
function decide(s: Session, action: 'started' | 'stop', side: 'init' | 'recv') {
  if (action === 'stop') {
    if (s.status === 5 || s.status === 6) return null;
    return { status: 6, reason: s.status === 0 && side === 'init' ? 'cancelled' : 'stopped' };
  }
  const mine = side === 'init' ? 2 : 3;
  const theirs = side === 'init' ? 3 : 2;
  if (s.status === 1) return { status: mine, reason: '' };
  if (s.status === theirs) return { status: 4, reason: '' };
  if (s.status === mine || s.status === 4) return null;
  throw new Fail(409, 601, `cannot ${action} in status ${s.status}`);
}

function anchorMove(action: 'started' | 'stop') {
  return async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
    const user = auth(request);
    const result = await transaction(async (c) => {
      const s = await lockedSession(c, request.params.id, user);
      const d = decide(s, action, sideOf(s, user));
      if (d === null) return s;
      const now = Date.now();
      const terminal = d.status === 5 || d.status === 6;
      const rooms = JSON.parse(s.roomsJson) as Room[];
      const own = rooms[sideOf(s, user) === 'init' ? 0 : 1];
      if (action === 'started') own.state = 'joined';
      else Object.assign(own, { state: 'left', reason: 'stopped' });
      const next: Session = {
        ...s,
        roomsJson: JSON.stringify(rooms),
        status: d.status,
        stopReason: d.reason,
        stopAt: terminal ? now : s.stopAt,
        deadlineAt: null,
        version: s.version + 1,
        updatedAt: now,
      };
      await updateSession(c, next);
      if (terminal) {
        for (const liveId of [s.initRoomId, s.recvRoomId].sort()) {
          await run(
            c,
            "UPDATE live_room SET pk_id = '', updated_at = ? WHERE live_id = ? AND pk_id = ?",
            [now, liveId, s.relayId],
          );
        }
      }
      await appendEvent(c, 'relay.status_changed', next, {
        from: s.status,
        to: next.status,
        reason: d.reason,
      });
      return next;
    });
    return send(reply, { relay_id: result.relayId, relay_status: result.status });
  };
}

app.post<IdParams>('/client/relay/:id/started', anchorMove('started'));
app.post<IdParams>('/client/relay/:id/stop', anchorMove('stop'));

app.post<IdParams & { Body: { extends?: Record<string, string | null> } }>(
  '/client/relay/:id/extends',
  async (request, reply) => {
    const user = auth(request);
    const patch = request.body?.extends;
    if (typeof patch !== 'object' || patch === null) throw new Fail(400, 400, 'bad extends');
    const merged = await transaction(async (c) => {
      const s = await lockedSession(c, request.params.id, user);
      sideOf(s, user);
      if (s.status === 5 || s.status === 6) throw new Fail(409, 601, 'ended');
      const merged = JSON.parse(s.extendsJson) as Record<string, string>;
      const changed: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) {
          if (k in merged) {
            delete merged[k];
            changed[k] = null;
          }
        } else if (merged[k] !== v) {
          merged[k] = v;
          changed[k] = v;
        }
      }
      if (Object.keys(changed).length === 0) return merged;
      const next: Session = {
        ...s,
        extendsJson: JSON.stringify(merged),
        version: s.version + 1,
        updatedAt: Date.now(),
      };
      await updateSession(c, next);
      await appendEvent(c, 'relay.extends_updated', next, { changed });
      return merged;
    });
    return send(reply, { relay_id: request.params.id, extends: merged });
  },
);

interface ScoreBody {
  room_id?: unknown;
  delta?: unknown;
  score_id?: unknown;
  user_id?: unknown;
}

interface BattleRow {
  roomsJson: string;
  fightEndAt: number | null;
  version: number;
}

interface BattleRoomRow {
  roomId: string;
  state: string;
  score: number;
}

interface BattleViewJson {
  battle_no: number;
  phase: string;
  rooms: { room_id: string; score: number }[];
  scores: Record<string, number>;
}

/**
 * The battle's share of a gift while it fights, the naive way: read the battle row under the
 * relay's lock, add the delta to the room's battle score, write the row and the session's view
 * of it back. Answers the battle's scores, or null when the gift counts for no battle.
 */
async function scoreBattle(
  c: PoolConnection,
  s: Session,
  roomId: string,
  delta: number,
  now: number,
): Promise<{ battleNo: number; view: BattleViewJson } | null> {
  const view = s.battleJson === null ? null : (JSON.parse(s.battleJson) as BattleViewJson);
  if (view === null || view.phase !== 'fighting') return null;
  const [b] = await rows<BattleRow>(
    c,
    'SELECT rooms_json AS roomsJson, fight_end_at AS fightEndAt, version FROM relay_battle ' +
      'WHERE relay_id = ? AND battle_no = ?',
    [s.relayId, view.battle_no],
  );
  if (!b || b.fightEndAt === null || now >= Number(b.fightEndAt)) return null;
  const rooms = JSON.parse(b.roomsJson) as BattleRoomRow[];
  const room = rooms.find((r) => r.roomId === roomId);
  if (!room || room.state === 'rejected') return null;
  room.score += delta;
  const updated = await run(
    c,
    'UPDATE relay_battle SET rooms_json = ?, version = ?, updated_at = ? ' +
      'WHERE relay_id = ? AND battle_no = ? AND version = ?',
    [JSON.stringify(rooms), b.version + 1, now, s.relayId, view.battle_no, b.version],
  );
  if (updated.affectedRows !== 1) throw new Fail(409, 601, 'concurrent battle update');
  const scores = Object.fromEntries(rooms.map((r) => [r.roomId, r.score]));
  return {
    battleNo: view.battle_no,
    view: {
      ...view,
      rooms: view.rooms.map((r) => ({ ...r, score: scores[r.room_id] ?? r.score })),
      scores,
    },
  };
}

/**
 * A delta with a score_id (and a user_id for the gifts of the audience), the form the bench
 * sends; the service's other checks are cheap. One transaction per gift, the naive way: lock
 * the relay, claim the score_id, write the relay, its battle and the gifter's contributions
 * (to the relay, and to the battle while it fights), insert the event.
 */
app.post<IdParams & { Body: ScoreBody }>('/server/relay/:id/score', async (request, reply) => {
  serverAuth(request);
  const { room_id: roomId, delta, score_id: scoreId, user_id: userId } = request.body ?? {};
  if (typeof roomId !== 'string' || typeof scoreId !== 'string' || !Number.isInteger(delta)) {
    throw new Fail(400, 400, 'bad body');
  }
  if (userId !== undefined && (typeof userId !== 'string' || (delta as number) <= 0)) {
    throw new Fail(400, 400, 'bad user_id');
  }
  const answer = await transaction(async (c) => {
    const s = await lockedSession(c, request.params.id, null);
    const scores = JSON.parse(s.scoresJson) as Record<string, number>;
    const rooms = JSON.parse(s.roomsJson) as Room[];
    if (!Object.hasOwn(scores, roomId)) throw new Fail(404, 404, 'room not in relay');
    const now = Date.now();
    const claimed = await run(
      c,
      'INSERT IGNORE INTO relay_score_id (relay_id, score_id, created_at) VALUES (?, ?, ?)',
      [s.relayId, scoreId, now],
    );
    if (claimed.affectedRows !== 1) return { relay_id: s.relayId, scores, duplicate: true };
    if (s.status < 1 || s.status > 4) throw new Fail(409, 601, 'not scoring');
    const room = rooms.find((r) => r.roomId === roomId);
    if (room?.state === 'left' || room?.state === 'rejected') throw new Fail(409, 601, 'out');
    const battle = await scoreBattle(c, s, roomId, delta as number, now);
    if (typeof userId === 'string') {
      const gifts = [0, ...(battle === null ? [] : [battle.battleNo])];
      await run(
        c,
        'INSERT INTO relay_contribution (relay_id, room_id, battle_no, user_id, amount, reached_at) ' +
          `VALUES ${gifts.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')} ` +
          'ON DUPLICATE KEY UPDATE amount = amount + VALUES(amount), reached_at = VALUES(reached_at)',
        gifts.flatMap((battleNo) => [s.relayId, roomId, battleNo, userId, delta, now]),
      );
    }
    const nextScores = { ...scores, [roomId]: scores[roomId] + (delta as number) };
    const next: Session = {
      ...s,
      scoresJson: JSON.stringify(nextScores),
      battleJson: battle === null ? s.battleJson : JSON.stringify(battle.view),
      version: s.version + 1,
      updatedAt: now,
    };
    await updateSession(c, next);
    const inPlay =
      battle === null ? null : { battle_no: battle.battleNo, scores: battle.view.scores };
    await appendEvent(c, 'relay.score_changed', next, {
      room_id: roomId,
      delta,
      score_id: scoreId,
      scores: nextScores,
      battle: inPlay,
    });
    return { relay_id: s.relayId, scores: nextScores, duplicate: false, battle: inPlay };
  });
  return send(reply, answer);
});

app
  .listen({ port: Number(process.env.PORT ?? 8090), host: '127.0.0.1' })
  .then((address) => process.stdout.write(`ceiling listening on ${address}\n`))
  .catch((error: unknown) => {
    process.stderr.write(`ceiling failed to start: ${String(error)}\n`);
    process.exit(1);
  });

// An exit rather than death by the signal, so that --cpu-prof (BENCH_CPU_PROF) writes its file.
process.once('SIGTERM', () => process.exit(0));
