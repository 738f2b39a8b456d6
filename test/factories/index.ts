import { signClientToken } from '../../src/auth/client-token';
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { CallOptions, HttpAnswer, TestApp } from '../utils/test-app';

let sequence = 0;

/** A user id unique within the run, so specs never collide in a shared database. */
export function uniqueUser(prefix = 'user'): string {
  return `${prefix}_${process.pid}_${++sequence}_${Math.random().toString(36).slice(2, 7)}`;
}

export interface TokenOptions {
  appId?: string;
  /** Unix seconds; default an hour ahead. */
  expiresAt?: number;
}

/** A client JWT for `userId`, signed with the app's secret. */
export function tokenFor(t: TestApp, userId: string, options: TokenOptions = {}): string {
  return signClientToken(t.config.jwtSecret, {
    appId: options.appId ?? 'default',
    userId,
    expiresAt: options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600,
  });
}

export interface Anchor {
  userId: string;
  token: string;
  liveId: string;
}

export interface AnchorOptions extends TokenOptions {
  /** Start the live (default true). */
  live?: boolean;
  userId?: string;
}

/** A user with a room of their own, live unless told otherwise. */
export async function anchor(t: TestApp, options: AnchorOptions = {}): Promise<Anchor> {
  const userId = options.userId ?? uniqueUser('anchor');
  const token = tokenFor(t, userId, options);
  const created = await t.call('POST', '/client/live/room/instance', {
    token,
    body: { title: `${userId}'s room` },
  });
  if (created.status !== 200) throw new Error(`room create failed: ${created.text}`);
  const liveId: string = created.body.data.live_id;
  if (options.live !== false) {
    const started = await t.call('PUT', `/client/live/room/${liveId}`, { token });
    if (started.status !== 200) throw new Error(`room start failed: ${started.text}`);
  }
  return { userId, token, liveId };
}

export interface RelayFixture {
  init: Anchor;
  recv: Anchor;
  relayId: string;
  /** The start answer's data: relay_id, relay_status, relay_token. */
  started: { relay_id: string; relay_status: number; relay_token: string };
}

/** Two live anchors and a relay between them (mode auto unless told otherwise). */
export async function relay(
  t: TestApp,
  options: { mode?: 'auto' | 'invite'; extends?: Record<string, string>; duration_s?: number } = {},
): Promise<RelayFixture> {
  const init = await anchor(t);
  const recv = await anchor(t);
  const answer = await t.call('POST', '/client/relay/start', {
    token: init.token,
    body: {
      init_room_id: init.liveId,
      recv_room_id: recv.liveId,
      recv_user_id: recv.userId,
      ...options,
    },
  });
  if (answer.status !== 200) throw new Error(`relay start failed: ${answer.text}`);
  return { init, recv, relayId: answer.body.data.relay_id, started: answer.body.data };
}

/** The fields of a session as the API answers it, sorted. */
export const SESSION_FIELDS = [
  'sid',
  'relay_id',
  'app_id',
  'init_user_id',
  'init_room_id',
  'recv_room_id',
  'recv_user_id',
  'rooms',
  'status',
  'stop_reason',
  'start_at',
  'stop_at',
  'created_at',
  'updated_at',
  'duration_s',
  'extends',
  'scores',
  'winner_room_id',
  'battle',
  'origin',
].sort();

/** Settings that switch the relay timers off, for specs whose subject is not time. */
export const NO_TIMERS = { RELAY_INVITE_TIMEOUT_S: '0', RELAY_JOIN_TIMEOUT_S: '0' };

/** The times and outcome of a relay as stored in relay_session (times in epoch ms). */
export interface SessionRow {
  status: number;
  stopReason: string;
  createdAt: number;
  startAt: number | null;
  stopAt: number | null;
}

/** What the row readers need: an e2e app and a medium app both have it. */
export type HasDatabase = Pick<TestApp, 'dataSource'>;

/** The relay's relay_session row, read straight from the database. */
export async function sessionRow(t: HasDatabase, relayId: string): Promise<SessionRow> {
  const [r] = await t.dataSource.query(
    'SELECT status, stop_reason AS stopReason, created_at AS createdAt, start_at AS startAt, ' +
      'stop_at AS stopAt FROM relay_session WHERE relay_id = ?',
    [relayId],
  );
  return {
    status: Number(r.status),
    stopReason: String(r.stopReason),
    createdAt: Number(r.createdAt),
    startAt: r.startAt === null ? null : Number(r.startAt),
    stopAt: r.stopAt === null ? null : Number(r.stopAt),
  };
}

export interface EventRow {
  id: number;
  type: string;
  relay_id: string;
  app_id: string;
  seq: number;
  occurred_at: number;
  data: any;
}

/** What the contract says a stored event looks like on the wire: `{id, type, ..., data}`. */
export function publicEvent(e: EventRow) {
  return {
    id: e.id,
    type: e.type,
    relay_id: e.relay_id,
    app_id: e.app_id,
    seq: e.seq,
    occurred_at: new Date(e.occurred_at).toISOString(),
    data: e.data,
  };
}

/** The SSE message a stored event must arrive as (compare with `frames` of test/utils/sse-client). */
export const expectedFrame = (e: EventRow) => ({
  id: String(e.id),
  event: e.type,
  data: publicEvent(e),
});

/**
 * The [from, to, reason] of each relay.status_changed among `rows` (stored rows or events as the
 * API answers them), in their order.
 */
export const statusMoves = (rows: { type: string; data: any }[]) =>
  rows
    .filter((e) => e.type === 'relay.status_changed')
    .map((e) => [e.data.from, e.data.to, e.data.reason]);

/** The relay's domain events as stored, in log order. */
export async function relayEvents(t: HasDatabase, relayId: string): Promise<EventRow[]> {
  const rows: Record<string, unknown>[] = await t.dataSource.query(
    'SELECT id, type, relay_id, app_id, seq, occurred_at, data FROM relay_event WHERE relay_id = ? ORDER BY id',
    [relayId],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    type: String(row.type),
    relay_id: String(row.relay_id),
    app_id: String(row.app_id),
    seq: Number(row.seq),
    occurred_at: Number(row.occurred_at),
    data: JSON.parse(String(row.data)),
  }));
}

export interface GroupFixture {
  init: Anchor;
  /** The receivers, in the order of `recv_rooms`. */
  recvs: Anchor[];
  relayId: string;
  /** The start answer's data: relay_id, relay_status, relay_token, relay_tokens. */
  started: {
    relay_id: string;
    relay_status: number;
    relay_token: string;
    relay_tokens: { room_id: string; relay_token: string }[];
  };
}

/** Live anchors and a relay started with `recv_rooms` (mode auto unless told otherwise). */
export async function groupRelay(
  t: TestApp,
  receivers: number,
  options: { mode?: 'auto' | 'invite'; extends?: Record<string, string>; duration_s?: number } = {},
): Promise<GroupFixture> {
  const init = await anchor(t);
  const recvs: Anchor[] = [];
  for (let i = 0; i < receivers; i++) recvs.push(await anchor(t));
  const answer = await t.call('POST', '/client/relay/start', {
    token: init.token,
    body: {
      init_room_id: init.liveId,
      recv_rooms: recvs.map((r) => ({ room_id: r.liveId, user_id: r.userId })),
      ...options,
    },
  });
  if (answer.status !== 200) throw new Error(`relay start failed: ${answer.text}`);
  return { init, recvs, relayId: answer.body.data.relay_id, started: answer.body.data };
}

/**
 * A server API request to `t`, signed with its server keys as the qiniu SDK signs (a JSON body
 * is part of the signature). `options` go to `t.call` as they are.
 */
export function serverCall(
  t: TestApp,
  method: string,
  path: string,
  body?: unknown,
  options: Omit<CallOptions, 'body'> = {},
): Promise<HttpAnswer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const authorization = qiniuSignV2(
    t.config.serverAccessKey,
    t.config.serverSecretKey,
    t.baseUrl + path,
    method,
    text === undefined ? undefined : 'application/json',
    text,
  );
  return t.call(method, path, {
    ...options,
    body: text,
    headers: { ...options.headers, authorization },
  });
}
