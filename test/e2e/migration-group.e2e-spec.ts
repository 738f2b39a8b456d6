/**
 * Upgrading a database of two-room relays to group relays: migration
 * 1764633600000-group-relays (docs/operations.md, "Starting and stopping"). A database is built
 * at the previous schema and filled the way the previous version of the service wrote it: live
 * rooms, relays at every status 0-6 (6 for each way a relay ended) with extends, scores, versions
 * and times, their events with the participant columns of that schema, a dead letter. Then the
 * migration runs and the real app reads it all back over HTTP: every relay exactly as before plus
 * its `rooms` in the states the migration promises (docs/concepts.md, "Group relays", "Two rooms
 * are a group of one"), each anchor's lists (docs/api.md, "Relays"), each relay's history
 * (docs/events.md, "History"), the streams replayed from the start (docs/events.md, "Streams"),
 * the dead letters (docs/events.md, "Dead letters"). The old relays then go on and end as
 * two-room relays do, the schema matches the entities (`schema:log`), and the migration's down()
 * (after those of any later migrations) restores the previous schema with its data, after which
 * up() leaves everything readable again.
 * On SQLite, or on a new MySQL/MariaDB database when DATABASE_URL names a server.
 */
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../src/app.schema';
import { GroupRelays1764633600000 } from '../../src/database/migrations/1764633600000-group-relays';
import { NO_TIMERS, serverCall, statusMoves, tokenFor } from '../factories';
import { expectOk } from '../utils/assertions';
import { decodeRoomAccess, qiniuRtc } from '../utils/qiniu-sdk';
import { openStream, SseClient } from '../utils/sse-client';
import { FreshDatabase, freshDatabase, startTestApp, TestApp } from '../utils/test-app';
import { schemaChanges, withDatabase } from '../utils/database';

/** The migrations of the previous version: those before the group relays'. */
const PREVIOUS = MIGRATIONS.slice(0, MIGRATIONS.indexOf(GroupRelays1764633600000));
/** What an upgrade from there runs: the group relays' migration and any that came after it. */
const UPGRADE = MIGRATIONS.slice(PREVIOUS.length).map((m) => new m().name);
const ENV = { ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' };
const APP = 'default';
const OTHER_APP = 'mig_other_app';
const OLD_PARTICIPANTS = ['init_user_id', 'recv_user_id', 'init_room_id', 'recv_room_id'];
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

async function appliedMigrations(dataSource: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await dataSource.query(
    'SELECT name FROM migrations ORDER BY id',
  );
  return rows.map((row) => row.name);
}

/** A table as TypeORM reads it, in a form two databases can be compared by. */
async function tableShape(dataSource: DataSource, name: string) {
  const runner = dataSource.createQueryRunner();
  try {
    const table = await runner.getTable(name);
    if (table === undefined) return undefined;
    return {
      columns: table.columns
        .map((c) => ({
          name: c.name,
          type: c.type,
          length: c.length,
          isNullable: c.isNullable,
          isPrimary: c.isPrimary,
          isGenerated: c.isGenerated,
          default: c.default,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      indices: table.indices
        .map((i) => ({
          name: i.name,
          columnNames: i.columnNames,
          isUnique: i.isUnique,
        }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    };
  } finally {
    await runner.release();
  }
}

const TABLES = [
  'live_room',
  'relay_session',
  'relay_event',
  'webhook_delivery',
  'idempotency_key',
  'relay_score_id',
  'relay_member',
];

async function schemaShape(dataSource: DataSource) {
  const shape: Record<string, unknown> = {};
  for (const name of TABLES) shape[name] = await tableShape(dataSource, name);
  return shape;
}

/* ----------------------------------------------------------------------------------------- */
/* The old data: what the previous version of the service wrote.                              */
/* ----------------------------------------------------------------------------------------- */

interface OldAnchor {
  appId: string;
  userId: string;
  roomId: string;
}

/** Ten anchors of one room each; `mig_1` and `room_mig_1` are prefixes of `mig_10` and `room_mig_10`. */
const ANCHORS: OldAnchor[] = Array.from({ length: 10 }, (_, i) => ({
  appId: APP,
  userId: `mig_${i + 1}`,
  roomId: `room_mig_${i + 1}`,
}));
const A = (n: number) => ANCHORS[n - 1];
/** The same two users in another app, with rooms of their own. */
const OTHER_ANCHORS: OldAnchor[] = [
  { appId: OTHER_APP, userId: 'mig_1', roomId: 'room_mig_other_1' },
  { appId: OTHER_APP, userId: 'mig_2', roomId: 'room_mig_other_2' },
];

type Step =
  | { to: number; reason?: string }
  | { extends: Record<string, string | null> }
  | { score: number; room: 'init' | 'recv'; scoreId?: string };

interface OldRelayPlan {
  name: string;
  init: OldAnchor;
  recv: OldAnchor;
  mode: 'auto' | 'invite';
  durationS?: number;
  extends?: Record<string, string>;
  steps: Step[];
  /** Its rooms once migrated, the initiator's first: `state` or `state:reason`. */
  rooms: [string, string];
}

const s = (to: number, reason = ''): Step => ({ to, reason });

/**
 * Relays as the previous version left them. Those at 0-4 hold their rooms (pk_id), so each has
 * rooms of its own; the ended ones reuse the rooms, as relays one after another do.
 */
const PLANS: OldRelayPlan[] = [
  {
    name: '0 waiting (invite)',
    init: A(1),
    recv: A(2),
    mode: 'invite',
    extends: { topic: 'old relay', round: '1' },
    steps: [],
    rooms: ['agreed', 'invited'],
  },
  {
    name: '1 agreed (accepted), with a duration',
    init: A(3),
    recv: A(4),
    mode: 'invite',
    durationS: 86400,
    steps: [s(1), { extends: { mood: 'calm' } }],
    rooms: ['agreed', 'agreed'],
  },
  {
    name: '2 initiator joined',
    init: A(5),
    recv: A(6),
    mode: 'auto',
    steps: [s(2)],
    rooms: ['joined', 'agreed'],
  },
  {
    name: '3 receiver joined, scored',
    init: A(7),
    recv: A(8),
    mode: 'auto',
    steps: [s(3), { score: 4, room: 'recv', scoreId: 'gift_old_1' }],
    rooms: ['agreed', 'joined'],
  },
  {
    name: '4 both joined, scored and extended',
    init: A(9),
    recv: A(10),
    mode: 'auto',
    extends: { a: '1' },
    steps: [
      s(2),
      s(4),
      { score: 12, room: 'init', scoreId: 'gift_old_2' },
      { score: 5, room: 'recv' },
      { extends: { a: null, b: '2' } },
    ],
    rooms: ['joined', 'joined'],
  },
  {
    name: '5 rejected',
    init: A(2),
    recv: A(1),
    mode: 'invite',
    steps: [s(5, 'rejected')],
    rooms: ['agreed', 'rejected:rejected'],
  },
  {
    name: '6 cancelled',
    init: A(1),
    recv: A(3),
    mode: 'invite',
    steps: [s(6, 'cancelled')],
    rooms: ['left:stopped', 'invited'],
  },
  {
    name: '6 invite_timeout',
    init: A(4),
    recv: A(1),
    mode: 'invite',
    steps: [s(6, 'invite_timeout')],
    rooms: ['agreed', 'rejected:invite_timeout'],
  },
  {
    name: '6 stopped after both joined (start_at set), a winner',
    init: A(1),
    recv: A(10),
    mode: 'auto',
    steps: [s(2), s(4), { score: 7, room: 'init' }, { score: 3, room: 'recv' }, s(6, 'stopped')],
    rooms: ['agreed', 'agreed'],
  },
  {
    name: '6 stopped by the receiver while waiting (no start_at)',
    init: A(5),
    recv: A(1),
    mode: 'invite',
    steps: [s(6, 'stopped')],
    rooms: ['agreed', 'left:stopped'],
  },
  {
    name: '6 admin at 3 (start_at set), a tie',
    init: A(6),
    recv: A(1),
    mode: 'auto',
    steps: [s(3), { score: 2, room: 'init' }, { score: 2, room: 'recv' }, s(6, 'admin')],
    rooms: ['agreed', 'agreed'],
  },
  {
    name: '6 admin while waiting (no start_at)',
    init: A(1),
    recv: A(7),
    mode: 'invite',
    steps: [s(6, 'admin')],
    rooms: ['agreed', 'invited'],
  },
  {
    name: '6 join_timeout',
    init: A(8),
    recv: A(1),
    mode: 'invite',
    steps: [s(1), s(6, 'join_timeout')],
    rooms: ['agreed', 'agreed'],
  },
  {
    name: '6 duration_elapsed',
    init: A(1),
    recv: A(9),
    mode: 'auto',
    durationS: 60,
    steps: [s(2), s(4), s(6, 'duration_elapsed')],
    rooms: ['agreed', 'agreed'],
  },
  {
    name: '6 room_offline',
    init: A(10),
    recv: A(1),
    mode: 'auto',
    steps: [s(6, 'room_offline')],
    rooms: ['agreed', 'agreed'],
  },
  {
    name: '6 stopped, in another app',
    init: OTHER_ANCHORS[0],
    recv: OTHER_ANCHORS[1],
    mode: 'auto',
    steps: [s(6, 'stopped')],
    rooms: ['agreed', 'agreed'],
  },
];

interface OldSession {
  relayId: string;
  appId: string;
  init: OldAnchor;
  recv: OldAnchor;
  status: number;
  stopReason: string;
  durationS: number | null;
  extendsMap: Record<string, string>;
  scores: Record<string, number>;
  version: number;
  startAt: number | null;
  stopAt: number | null;
  deadlineAt: number | null;
  createdAt: number;
  updatedAt: number;
}

interface OldEvent {
  /** Set once inserted. */
  id: number;
  type: string;
  relayId: string;
  appId: string;
  seq: number;
  occurredAt: number;
  data: any;
  init: OldAnchor;
  recv: OldAnchor;
  /** Order of the relay among PLANS, to break ties of occurredAt. */
  order: number;
}

interface OldRelay {
  plan: OldRelayPlan;
  /** Set once inserted. */
  id: number;
  session: OldSession;
  events: OldEvent[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "YYYY-MM-DD HH:mm:ss" in UTC, the zone of the service in these specs (the TZ default). */
function localTime(ms: number | null): string | null {
  if (ms === null) return null;
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** The room with the strictly highest score once the relay has ended, else "". */
function winner(status: number, scores: Record<string, number>): string {
  if (status < 5) return '';
  const ranked = Object.entries(scores).sort(([, a], [, b]) => b - a);
  return ranked.length > 0 && (ranked.length === 1 || ranked[0][1] > ranked[1][1])
    ? ranked[0][0]
    : '';
}

/** The session as the previous version showed it (GET, and `data.session` of its events). */
function oldView(x: OldSession) {
  return {
    sid: x.relayId,
    relay_id: x.relayId,
    app_id: x.appId,
    init_user_id: x.init.userId,
    init_room_id: x.init.roomId,
    recv_room_id: x.recv.roomId,
    recv_user_id: x.recv.userId,
    status: x.status,
    stop_reason: x.stopReason,
    start_at: localTime(x.startAt),
    stop_at: localTime(x.stopAt),
    created_at: localTime(x.createdAt),
    updated_at: localTime(x.updatedAt),
    duration_s: x.durationS,
    extends: { ...x.extendsMap },
    scores: { ...x.scores },
    winner_room_id: winner(x.status, x.scores),
  };
}

/** `rooms` from `state` or `state:reason` for the initiator's room and the receiver's. */
function roomsOf(init: OldAnchor, recv: OldAnchor, states: readonly string[]) {
  return [init, recv].map((a, i) => {
    const [state, reason = ''] = states[i].split(':');
    return {
      room_id: a.roomId,
      user_id: a.userId,
      role: i === 0 ? 'init' : 'recv',
      state,
      reason,
    };
  });
}

/**
 * The states the migration promises a two-room relay: 0 receiver invited, 1 both agreed, 2 and
 * 3 one side joined, 4 both, 5 receiver rejected; ended: a cancelled invitation's initiator
 * left, an expired one's receiver rejected, one stopped otherwise before it was agreed (no
 * start_at: the initiator's stop would be `cancelled`) left by its receiver, else both as once
 * agreed (invited if never).
 */
function promisedStates(status: number, stopReason: string, startAt: string | null): string[] {
  const init =
    status === 2 || status === 4
      ? 'joined'
      : status === 6 && stopReason === 'cancelled'
        ? 'left:stopped'
        : 'agreed';
  const recv =
    status === 3 || status === 4
      ? 'joined'
      : status === 5
        ? 'rejected:rejected'
        : status === 6 && stopReason === 'invite_timeout'
          ? 'rejected:invite_timeout'
          : status === 6 && stopReason === 'stopped' && startAt === null
            ? 'left:stopped'
            : startAt === null
              ? 'invited'
              : 'agreed';
  return [init, recv];
}

/**
 * An old event's `data` once migrated: its session (if it has one without `rooms`) gets the
 * rooms the migration promises for the session as that event recorded it, right after
 * `recv_user_id`; every other key stays where it was, with its value.
 */
function migratedData(data: any): any {
  const session = data?.session;
  if (session === undefined || session.rooms !== undefined) return data;
  const rooms = roomsOf(
    { appId: session.app_id, userId: session.init_user_id, roomId: session.init_room_id },
    { appId: session.app_id, userId: session.recv_user_id, roomId: session.recv_room_id },
    promisedStates(session.status, session.stop_reason, session.start_at),
  );
  return withBattles({ ...data, session: after(session, 'recv_user_id', 'rooms', rooms) });
}

/**
 * What the later migrations add to an old event: the battles migration (docs/concepts.md,
 * "Battles") shows `battle: null` in its session after `winner_room_id`, and in a score change
 * after `scores`; the matchmaking migration shows the session's `origin`, `invite`, last.
 */
function withBattles(data: any): any {
  const scored = data.delta !== undefined && data.scores !== undefined;
  const next = scored ? after(data, 'scores', 'battle', null) : data;
  const session = after(data.session, 'winner_room_id', 'battle', null);
  return { ...next, session: { ...session, origin: 'invite' } };
}

/** `fields` with `key: value` inserted right after the key `previous`. */
function after(fields: Record<string, unknown>, previous: string, key: string, value: unknown) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v;
    if (k === previous) out[key] = value;
  }
  return out;
}

/** The relays and their events, as the previous version's requests would have made them. */
function simulate(base: number): OldRelay[] {
  return PLANS.map((plan, order) => {
    let now = base + order * 5_000 + 123;
    const auto = plan.mode === 'auto';
    const x: OldSession = {
      relayId: `relay_${randomUUID().replace(/-/g, '')}`,
      appId: plan.init.appId,
      init: plan.init,
      recv: plan.recv,
      status: auto ? 1 : 0,
      stopReason: '',
      durationS: plan.durationS ?? null,
      extendsMap: { ...plan.extends },
      scores: { [plan.init.roomId]: 0, [plan.recv.roomId]: 0 },
      version: 1,
      startAt: auto ? now : null,
      stopAt: null,
      deadlineAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const events: OldEvent[] = [];
    const record = (type: string, data: Record<string, unknown>) =>
      events.push({
        id: 0,
        type,
        relayId: x.relayId,
        appId: x.appId,
        seq: x.version,
        occurredAt: x.updatedAt,
        data: { ...data, session: oldView(x) },
        init: x.init,
        recv: x.recv,
        order,
      });
    record('relay.status_changed', { from: null, to: x.status, reason: '' });
    for (const step of plan.steps) {
      now += 7_345;
      x.version += 1;
      x.updatedAt = now;
      if ('to' in step) {
        const from = x.status;
        x.status = step.to;
        x.stopReason = step.reason ?? '';
        if (step.to === 1) x.startAt = now;
        if (step.to >= 5) x.stopAt = now;
        record('relay.status_changed', { from, to: x.status, reason: x.stopReason });
      } else if ('extends' in step) {
        for (const [key, value] of Object.entries(step.extends)) {
          if (value === null) delete x.extendsMap[key];
          else x.extendsMap[key] = value;
        }
        record('relay.extends_updated', { changed: step.extends });
      } else {
        const room = step.room === 'init' ? x.init.roomId : x.recv.roomId;
        x.scores[room] += step.score;
        record('relay.score_changed', {
          room_id: room,
          delta: step.score,
          score_id: step.scoreId ?? '',
          scores: { ...x.scores },
        });
      }
    }
    // The previous version ran with the timers off: only a duration sets a deadline.
    x.deadlineAt =
      x.status < 5 && x.startAt !== null && x.durationS !== null
        ? x.startAt + x.durationS * 1000
        : null;
    return { plan, id: 0, session: x, events };
  });
}

/** Writes the rooms, relays, events and a dead letter with the previous schema's columns. */
async function fillPreviousSchema(dataSource: DataSource, relays: OldRelay[], base: number) {
  const holder = new Map<string, string>();
  for (const r of relays) {
    if (r.session.status < 5) {
      holder.set(r.session.init.roomId, r.session.relayId);
      holder.set(r.session.recv.roomId, r.session.relayId);
    }
  }
  for (const a of [...ANCHORS, ...OTHER_ANCHORS]) {
    await dataSource.query(
      'INSERT INTO live_room (live_id, app_id, title, notice, cover_url, extends_json, anchor_id, ' +
        'live_status, pk_id, start_at, end_at, heartbeat_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        a.roomId,
        a.appId,
        `${a.userId}'s room`,
        '',
        '',
        '{}',
        a.userId,
        1,
        holder.get(a.roomId) ?? '',
        base - 60_000,
        null,
        Date.now(),
        base - 120_000,
        base - 60_000,
      ],
    );
  }
  for (const r of relays) {
    const x = r.session;
    await dataSource.query(
      'INSERT INTO relay_session (relay_id, app_id, init_user_id, init_room_id, recv_user_id, ' +
        'recv_room_id, status, stop_reason, duration_s, extends_json, scores_json, version, ' +
        'start_at, stop_at, deadline_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        x.relayId,
        x.appId,
        x.init.userId,
        x.init.roomId,
        x.recv.userId,
        x.recv.roomId,
        x.status,
        x.stopReason,
        x.durationS,
        JSON.stringify(x.extendsMap),
        JSON.stringify(x.scores),
        x.version,
        x.startAt,
        x.stopAt,
        x.deadlineAt,
        x.createdAt,
        x.updatedAt,
      ],
    );
    const [row]: { id: number }[] = await dataSource.query(
      'SELECT id FROM relay_session WHERE relay_id = ?',
      [x.relayId],
    );
    r.id = Number(row.id);
  }
  // The log in the order the previous version wrote it: the relays' events interleave.
  const all = relays
    .flatMap((r) => r.events)
    .sort((a, b) => a.occurredAt - b.occurredAt || a.order - b.order || a.seq - b.seq);
  for (const e of all) {
    await dataSource.query(
      'INSERT INTO relay_event (type, relay_id, app_id, seq, occurred_at, data, init_user_id, ' +
        'recv_user_id, init_room_id, recv_room_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        e.type,
        e.relayId,
        e.appId,
        e.seq,
        e.occurredAt,
        JSON.stringify(e.data),
        e.init.userId,
        e.recv.userId,
        e.init.roomId,
        e.recv.roomId,
      ],
    );
    const [row]: { id: number }[] = await dataSource.query(
      'SELECT id FROM relay_event WHERE relay_id = ? AND seq = ?',
      [e.relayId, e.seq],
    );
    e.id = Number(row.id);
  }
}

/** The event as history, streams and webhooks carry it once migrated. */
const publicEvent = (e: OldEvent) => ({
  id: e.id,
  type: e.type,
  relay_id: e.relayId,
  app_id: e.appId,
  seq: e.seq,
  occurred_at: new Date(e.occurredAt).toISOString(),
  data: migratedData(e.data),
});

describe('migration 1764633600000-group-relays on a database of two-room relays', () => {
  let db: FreshDatabase;
  let t: TestApp;
  let relays: OldRelay[];
  let dead: { id: number; event: OldEvent };
  /** Read before the upgrade, after it, and after a down() (see the last test). */
  const shapes: Record<string, Record<string, unknown>> = {};
  let ranOnUpgrade: string[] = [];
  let appliedBefore: string[] = [];
  /** relay_event's participant columns as the previous schema held them, by event id. */
  let oldParticipants: Record<string, string>[] = [];

  const byName = (name: string) => relays.find((r) => r.plan.name === name) as OldRelay;

  beforeAll(async () => {
    db = await freshDatabase();
    const base = Date.now() - 3 * 3600_000;
    relays = simulate(base);
    await withDatabase(db.url, PREVIOUS, async (old) => {
      await old.runMigrations();
      appliedBefore = await appliedMigrations(old);
      await fillPreviousSchema(old, relays, base);
      const lastOfFour = byName('4 both joined, scored and extended').events[5];
      await old.query(
        'INSERT INTO webhook_delivery (event_id, url, status, attempts, next_attempt_at, ' +
          'last_error, delivered_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          lastOfFour.id,
          'https://hooks.example.com/old',
          'failed',
          10,
          lastOfFour.occurredAt + 600_000,
          'HTTP 503',
          null,
          lastOfFour.occurredAt,
          lastOfFour.occurredAt + 600_000,
        ],
      );
      const [row]: { id: number }[] = await old.query('SELECT MAX(id) AS id FROM webhook_delivery');
      dead = { id: Number(row.id), event: lastOfFour };
      oldParticipants = await old.query(
        `SELECT id, ${OLD_PARTICIPANTS.join(', ')} FROM relay_event ORDER BY id`,
      );
      shapes.before = await schemaShape(old);
    });
    await withDatabase(db.url, MIGRATIONS, async (full) => {
      ranOnUpgrade = (await full.runMigrations()).map((m) => m.name);
      shapes.after = await schemaShape(full);
    });
    t = await startTestApp({ ...ENV, DATABASE_URL: db.url });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const reader = () => tokenFor(t, 'mig_reader');
  const anchorToken = (a: OldAnchor) => tokenFor(t, a.userId, { appId: a.appId });

  async function read(relayId: string, appId = APP) {
    return expectOk(
      await t.call('GET', `/client/relay/${relayId}`, {
        token: tokenFor(t, 'mig_reader', { appId }),
      }),
    );
  }

  async function history(relayId: string, query = '', appId = APP) {
    return expectOk(
      await t.call('GET', `/client/relay/${relayId}/events${query}`, {
        token: tokenFor(t, 'mig_reader', { appId }),
        // Checked against the OpenAPI document by a test of its own, below.
        unchecked: true,
      }),
    );
  }

  async function pkId(a: OldAnchor): Promise<string> {
    return expectOk(
      await t.call('GET', `/client/live/room/info/${a.roomId}`, { token: anchorToken(a) }),
    ).pk_id;
  }

  const server = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    serverCall(t, method, path, body);

  const post = (r: OldRelay, action: string, who: OldAnchor, body?: unknown) =>
    t.call('POST', `/client/relay/${r.session.relayId}/${action}`, {
      token: anchorToken(who),
      body,
    });

  /** The session of a migrated relay: every field as before, its two rooms, no battle, invited. */
  const expectedView = (r: OldRelay) => ({
    ...oldView(r.session),
    rooms: roomsOf(r.session.init, r.session.recv, r.plan.rooms),
    battle: null,
    origin: 'invite',
  });

  it('runs alone on a database at the previous schema, and replaces the participant columns', async () => {
    expect(appliedBefore).toEqual(PREVIOUS.map((m) => new m().name));
    expect(ranOnUpgrade).toEqual(UPGRADE);
    const before = shapes.before as Record<string, any>;
    const after = shapes.after as Record<string, any>;
    const names = (shape: any, what: 'columns' | 'indices') =>
      (shape[what] as { name: string }[]).map((c) => c.name);
    // The previous schema is the one the previous version wrote.
    expect(names(before.relay_event, 'columns')).toEqual(expect.arrayContaining(OLD_PARTICIPANTS));
    expect(names(before.relay_session, 'columns')).not.toContain('rooms_json');
    expect(before.relay_member).toBeUndefined();
    // The new one.
    expect(names(after.relay_event, 'columns')).toEqual(
      expect.arrayContaining(['user_ids', 'room_ids']),
    );
    for (const column of OLD_PARTICIPANTS) {
      expect(names(after.relay_event, 'columns')).not.toContain(column);
    }
    expect(names(after.relay_session, 'columns')).toContain('rooms_json');
    expect(names(before.relay_session, 'indices')).toEqual(
      expect.arrayContaining(['idx_relay_session_init', 'idx_relay_session_recv']),
    );
    expect(names(after.relay_session, 'indices')).not.toContain('idx_relay_session_init');
    expect(names(after.relay_session, 'indices')).not.toContain('idx_relay_session_recv');
    expect(after.relay_member).toBeDefined();
    // Every other table is as it was, but for what later migrations of the upgrade add.
    const LATER: Record<string, string[]> = { webhook_delivery: ['traceparent'] };
    const without = (shape: any, table: string) => ({
      ...shape,
      columns: (shape.columns as { name: string }[]).filter(
        (c) => !(LATER[table] ?? []).includes(c.name),
      ),
    });
    for (const table of ['live_room', 'webhook_delivery', 'idempotency_key', 'relay_score_id']) {
      expect({ table, shape: without(after[table], table) }).toEqual({
        table,
        shape: before[table],
      });
    }
  });

  it('fills relay_member with each relay’s initiator and receiver, and user_ids / room_ids of every event', async () => {
    const members: { app_id: string; user_id: string; session_id: number; role: string }[] =
      await t.dataSource.query(
        'SELECT app_id, user_id, session_id, role FROM relay_member ORDER BY session_id, role',
      );
    expect(members.map((m) => ({ ...m, session_id: Number(m.session_id) }))).toEqual(
      relays.flatMap((r) => [
        { app_id: r.session.appId, user_id: r.session.init.userId, session_id: r.id, role: 'init' },
        { app_id: r.session.appId, user_id: r.session.recv.userId, session_id: r.id, role: 'recv' },
      ]),
    );
    const events: { id: number; user_ids: string; room_ids: string }[] = await t.dataSource.query(
      'SELECT id, user_ids, room_ids FROM relay_event ORDER BY id',
    );
    const expected = relays
      .flatMap((r) => r.events)
      .sort((a, b) => a.id - b.id)
      .map((e) => ({
        id: e.id,
        user_ids: `,${e.init.userId},${e.recv.userId},`,
        room_ids: `,${e.init.roomId},${e.recv.roomId},`,
      }));
    expect(events.map((e) => ({ ...e, id: Number(e.id) }))).toEqual(expected);
  });

  it('adds to the session of every old event the rooms of that session as the event recorded it, and changes nothing else', async () => {
    const rows: { id: number; data: string }[] = await t.dataSource.query(
      'SELECT id, data FROM relay_event ORDER BY id',
    );
    const stored = new Map(rows.map((row) => [Number(row.id), row.data]));
    const old = relays.flatMap((r) => r.events);
    expect(stored.size).toBe(old.length);
    // Every kind of event the previous version wrote has a session: none is left without one.
    expect(old.filter((e) => e.data.session === undefined)).toEqual([]);
    for (const e of old) {
      const data = stored.get(e.id) as string;
      // Byte for byte: `rooms` right after `recv_user_id`, every other key in its place.
      expect({ id: e.id, data }).toEqual({ id: e.id, data: JSON.stringify(migratedData(e.data)) });
      const parsed = JSON.parse(data);
      const states = parsed.session.rooms.map((x: { state: string; reason: string }) =>
        x.reason === '' ? x.state : `${x.state}:${x.reason}`,
      );
      expect({ id: e.id, states }).toEqual({
        id: e.id,
        states: promisedStates(
          e.data.session.status,
          e.data.session.stop_reason,
          e.data.session.start_at,
        ),
      });
      // Without `rooms` (and the battles migration's `battle: null`), the event is what the
      // previous version wrote.
      delete parsed.session.rooms;
      delete parsed.session.battle;
      delete parsed.session.origin;
      delete parsed.battle;
      expect({ id: e.id, data: JSON.stringify(parsed) }).toEqual({
        id: e.id,
        data: JSON.stringify(e.data),
      });
    }
    // Each event shows the rooms of its own time, not the relay's last ones.
    const statesAt = (r: OldRelay) =>
      r.events.map((e) => {
        const session = JSON.parse(stored.get(e.id) as string).session;
        return [
          session.status,
          ...session.rooms.map((x: { state: string; reason: string }) =>
            x.reason === '' ? x.state : `${x.state}:${x.reason}`,
          ),
        ];
      });
    expect(statesAt(byName('4 both joined, scored and extended'))).toEqual([
      [1, 'agreed', 'agreed'],
      [2, 'joined', 'agreed'],
      [4, 'joined', 'joined'],
      [4, 'joined', 'joined'],
      [4, 'joined', 'joined'],
      [4, 'joined', 'joined'],
    ]);
    expect(statesAt(byName('1 agreed (accepted), with a duration'))).toEqual([
      [0, 'agreed', 'invited'],
      [1, 'agreed', 'agreed'],
      [1, 'agreed', 'agreed'],
    ]);
    expect(statesAt(byName('6 stopped by the receiver while waiting (no start_at)'))).toEqual([
      [0, 'agreed', 'invited'],
      [6, 'agreed', 'left:stopped'],
    ]);
    expect(statesAt(byName('6 cancelled'))).toEqual([
      [0, 'agreed', 'invited'],
      [6, 'left:stopped', 'invited'],
    ]);
    expect(statesAt(byName('6 stopped after both joined (start_at set), a winner'))).toEqual([
      [1, 'agreed', 'agreed'],
      [2, 'joined', 'agreed'],
      [4, 'joined', 'joined'],
      [4, 'joined', 'joined'],
      [4, 'joined', 'joined'],
      [6, 'agreed', 'agreed'],
    ]);
  });

  it('leaves a schema that matches the entities exactly (`schema:log` finds nothing to change)', async () => {
    expect(await schemaChanges(db.url)).toEqual([]);
  });

  it.each(PLANS.map((p) => [p.name]))(
    'GET /client/relay/{id} of the relay at %s: every field as before, and its rooms',
    async (name) => {
      const r = byName(name);
      const view = await read(r.session.relayId, r.session.appId);
      expect(view).toEqual(expectedView(r));
      // The server API reads the same session.
      const path = `/server/relay/${r.session.relayId}`;
      expect(expectOk(await server('GET', path))).toEqual(view);
      // A relay that goes on still holds both rooms; an ended one neither (they are free, or
      // held by the relay of the previous version that goes on with them).
      const holder = (room: string) =>
        relays.find(
          (x) =>
            x.session.status < 5 && [x.session.init.roomId, x.session.recv.roomId].includes(room),
        )?.session.relayId ?? '';
      const pk = [await pkId(r.session.init), await pkId(r.session.recv)];
      expect(pk).toEqual([holder(r.session.init.roomId), holder(r.session.recv.roomId)]);
      if (r.session.status < 5) expect(pk).toEqual([r.session.relayId, r.session.relayId]);
      else expect(pk).not.toContain(r.session.relayId);
      expect(r.plan.rooms).toEqual(
        promisedStates(r.session.status, r.session.stopReason, view.start_at),
      );
    },
  );

  it('GET /client/relay lists each old anchor’s relays for role init, recv and any, newest first', async () => {
    const anchors = [...ANCHORS, ...OTHER_ANCHORS];
    for (const a of anchors) {
      for (const role of ['init', 'recv', 'any'] as const) {
        const mine = relays
          .filter(
            (r) =>
              r.session.appId === a.appId &&
              ((role !== 'recv' && r.session.init.userId === a.userId) ||
                (role !== 'init' && r.session.recv.userId === a.userId)),
          )
          .sort((x, y) => y.id - x.id);
        const data = expectOk(
          await t.call('GET', `/client/relay?role=${role}&limit=100`, { token: anchorToken(a) }),
        );
        expect({ anchor: a, role, list: data.list, next_cursor: data.next_cursor }).toEqual({
          anchor: a,
          role,
          list: mine.map(expectedView),
          next_cursor: null,
        });
      }
    }
    // mig_1 is in many relays: a status filter and pages of two still find each one once.
    const a1 = A(1);
    const ended = relays
      .filter(
        (r) =>
          r.session.appId === APP &&
          r.session.status === 6 &&
          [r.session.init.userId, r.session.recv.userId].includes(a1.userId),
      )
      .sort((x, y) => y.id - x.id)
      .map((r) => r.session.relayId);
    expect(ended.length).toBeGreaterThan(4);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const query: string = `?status=6&limit=2${cursor === '' ? '' : `&cursor=${cursor}`}`;
      const page: { list: { relay_id: string }[]; next_cursor: string | null } = expectOk(
        await t.call('GET', `/client/relay${query}`, { token: anchorToken(a1) }),
      );
      seen.push(...page.list.map((x) => x.relay_id));
      cursor = page.next_cursor;
      if (seen.length > 50) break;
    }
    expect(seen).toEqual(ended);
  });

  it('GET /client/relay/{id}/events returns the old events of each relay, in seq order', async () => {
    for (const r of relays) {
      const page = await history(r.session.relayId, '', r.session.appId);
      expect({ relay: r.plan.name, page }).toEqual({
        relay: r.plan.name,
        page: { list: r.events.map(publicEvent), next_cursor: null },
      });
    }
    // Pages by event id, as before.
    const r4 = byName('4 both joined, scored and extended');
    const first = await history(r4.session.relayId, '?limit=4');
    expect(first).toEqual({
      list: r4.events.slice(0, 4).map(publicEvent),
      next_cursor: String(r4.events[3].id),
    });
    expect(await history(r4.session.relayId, `?limit=4&after=${first.next_cursor}`)).toEqual({
      list: r4.events.slice(4).map(publicEvent),
      next_cursor: null,
    });
  });

  it('GET /server/events lists the old dead letter with its event', async () => {
    const data = expectOk(
      // Checked against the OpenAPI document by a test of its own, below.
      await serverCall(t, 'GET', '/server/events?status=failed', undefined, { unchecked: true }),
    );
    expect(data).toEqual({
      list: [
        {
          id: dead.id,
          event_id: dead.event.id,
          url: 'https://hooks.example.com/old',
          attempts: 10,
          last_error: 'HTTP 503',
          status: 'failed',
          event: publicEvent(dead.event),
        },
      ],
      next_cursor: null,
    });
  });

  it('answers with old events (history, dead letters) as the OpenAPI document describes them', async () => {
    // docs/events.md, "The event": `data.session` is the relay as GET shows it, `rooms` included.
    const mismatches: string[] = [];
    const checked = async (what: string, request: () => Promise<unknown>) => {
      try {
        await request();
      } catch (error) {
        const lines = String((error as Error).message).split('\n');
        const why = lines.find((line) => line.includes("'rooms'")) ?? lines[1] ?? lines[0];
        mismatches.push(`${what}: ${why.trim()}`);
      }
    };
    for (const r of relays) {
      await checked(`history of the relay at ${r.plan.name}`, () =>
        t.call('GET', `/client/relay/${r.session.relayId}/events`, {
          token: tokenFor(t, 'mig_reader', { appId: r.session.appId }),
        }),
      );
    }
    await checked('dead letters', () => server('GET', '/server/events?status=failed'));
    expect(mismatches).toEqual([]);
  });

  describe('streams replayed from Last-Event-ID 0', () => {
    const streams: SseClient[] = [];
    afterAll(() => streams.forEach((x) => x.close()));

    /** Opens the stream and waits until the replay is in and nothing more arrives. */
    async function replay(token: string, query: Record<string, string>, expected: OldEvent[]) {
      const stream = await openStream(t.baseUrl, '/client/relay/events', {
        token,
        lastEventId: '0',
        query,
      });
      streams.push(stream);
      expect(stream.status).toBe(200);
      await stream.waitFor(expected.length, 10_000).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 400));
      return stream.messages.map((m) => ({ id: m.id, event: m.event, data: JSON.parse(m.data) }));
    }

    const framesOf = (events: OldEvent[]) =>
      [...events]
        .sort((a, b) => a.id - b.id)
        .map((e) => ({ id: String(e.id), event: e.type, data: publicEvent(e) }));

    it('?room_id= of an old room: every event of the relays with that room, none of room_mig_10', async () => {
      const room = A(1).roomId;
      const expected = relays
        .filter((r) => r.session.appId === APP)
        .flatMap((r) => r.events)
        .filter((e) => e.init.roomId === room || e.recv.roomId === room);
      expect(expected.length).toBeGreaterThan(10);
      expect(await replay(reader(), { room_id: room }, expected)).toEqual(framesOf(expected));
    });

    it('an old anchor’s stream: every event of the relays where it is initiator or receiver', async () => {
      for (const a of [A(10), OTHER_ANCHORS[0]]) {
        const expected = relays
          .filter((r) => r.session.appId === a.appId)
          .flatMap((r) => r.events)
          .filter((e) => e.init.userId === a.userId || e.recv.userId === a.userId);
        expect(expected.length).toBeGreaterThan(0);
        expect({ anchor: a, frames: await replay(anchorToken(a), {}, expected) }).toEqual({
          anchor: a,
          frames: framesOf(expected),
        });
      }
    });
  });

  describe('old relays go on as two-room relays', () => {
    /** The relay's events after the old ones: seq goes on from the old version with no gap. */
    async function newEvents(r: OldRelay) {
      const page = await history(r.session.relayId, '?limit=100');
      const seqs = page.list.map((e: { seq: number }) => e.seq);
      expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
      expect(page.list.slice(0, r.events.length)).toEqual(r.events.map(publicEvent));
      return page.list.slice(r.events.length);
    }

    /** One token, for the other room, signed for the caller as the qiniu SDK signs it. */
    function expectTokenFor(data: any, r: OldRelay, caller: OldAnchor, other: OldAnchor) {
      expect(data.relay_id).toBe(r.session.relayId);
      expect(data.relay_tokens.map((x: { room_id: string }) => x.room_id)).toEqual([other.roomId]);
      const [{ relay_token }] = data.relay_tokens;
      expect(data.relay_token).toBe(relay_token);
      const access = decodeRoomAccess(relay_token);
      expect({ roomName: access.roomName, userId: access.userId }).toEqual({
        roomName: other.roomId,
        userId: caller.userId,
      });
      const credentials = new qiniuRtc.Credentials(
        t.config.qiniu.accessKey,
        t.config.qiniu.secretKey,
      );
      expect(relay_token).toBe(
        credentials.signJson({
          appId: t.config.qiniu.rtcAppId,
          roomName: other.roomId,
          userId: caller.userId,
          expireAt: access.expireAt,
          permission: 'user',
        }),
      );
    }

    it('a relay at 0: the receiver accepts (1), both report started (2, 4), tokens, extends, the initiator stops (6)', async () => {
      const r = byName('0 waiting (invite)');
      const { init, recv } = r.session;
      const before = await read(r.session.relayId);

      const accepted = expectOk(await post(r, 'accept', recv));
      expect(accepted.relay_status).toBe(1);
      expectTokenFor(accepted, r, recv, init);
      const agreed = await read(r.session.relayId);
      expect(agreed.start_at).toMatch(TIME);
      expect(agreed).toEqual({
        ...before,
        status: 1,
        start_at: agreed.start_at,
        updated_at: agreed.updated_at,
        rooms: roomsOf(init, recv, ['agreed', 'agreed']),
      });
      expect([await pkId(init), await pkId(recv)]).toEqual([r.session.relayId, r.session.relayId]);

      expect(expectOk(await post(r, 'started', init)).relay_status).toBe(2);
      expect(expectOk(await post(r, 'started', recv)).relay_status).toBe(4);
      expectTokenFor(
        expectOk(
          await t.call('GET', `/client/relay/${r.session.relayId}/token`, {
            token: anchorToken(init),
          }),
        ),
        r,
        init,
        recv,
      );
      expectTokenFor(
        expectOk(
          await t.call('GET', `/client/relay/${r.session.relayId}/token`, {
            token: anchorToken(recv),
          }),
        ),
        r,
        recv,
        init,
      );

      const extended = expectOk(
        await post(r, 'extends', recv, { extends: { round: '2', topic: null, late: 'yes' } }),
      );
      expect(extended).toEqual({
        relay_id: r.session.relayId,
        extends: { round: '2', late: 'yes' },
      });

      expect(expectOk(await post(r, 'stop', init)).relay_status).toBe(6);
      const ended = await read(r.session.relayId);
      expect(ended).toEqual({
        ...agreed,
        status: 6,
        stop_reason: 'stopped',
        stop_at: ended.stop_at,
        updated_at: ended.updated_at,
        extends: { round: '2', late: 'yes' },
        rooms: roomsOf(init, recv, ['left:stopped', 'joined']),
        winner_room_id: '',
      });
      expect(ended.stop_at).toMatch(TIME);
      expect(ended.updated_at >= agreed.updated_at).toBe(true);
      expect([await pkId(init), await pkId(recv)]).toEqual(['', '']);

      const added = await newEvents(r);
      expect(added.map((e: { type: string }) => e.type)).toEqual([
        'relay.status_changed',
        'relay.status_changed',
        'relay.status_changed',
        'relay.extends_updated',
        'relay.status_changed',
      ]);
      expect(statusMoves(added)).toEqual([
        [0, 1, ''],
        [1, 2, ''],
        [2, 4, ''],
        [4, 6, 'stopped'],
      ]);
      expect(added[3].data.changed).toEqual({ round: '2', topic: null, late: 'yes' });
      expect(added[added.length - 1].data.session).toEqual(ended);
    });

    it('a relay at 1 whose initiator stops ends at 6 (stopped) and releases both rooms', async () => {
      const r = byName('1 agreed (accepted), with a duration');
      const { init, recv } = r.session;
      expect([await pkId(init), await pkId(recv)]).toEqual([r.session.relayId, r.session.relayId]);
      const before = await read(r.session.relayId);
      expect(expectOk(await post(r, 'stop', init))).toEqual({
        relay_id: r.session.relayId,
        relay_status: 6,
      });
      const ended = await read(r.session.relayId);
      expect(ended).toEqual({
        ...before,
        status: 6,
        stop_reason: 'stopped',
        stop_at: ended.stop_at,
        updated_at: ended.updated_at,
        rooms: roomsOf(init, recv, ['left:stopped', 'agreed']),
      });
      expect([await pkId(init), await pkId(recv)]).toEqual(['', '']);
      const added = await newEvents(r);
      expect(statusMoves(added)).toEqual([[1, 6, 'stopped']]);
      expect(added).toHaveLength(1);
      expect(added[0].data.session).toEqual(ended);
      // Both rooms are free for a new relay.
      const again = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: anchorToken(recv),
          body: { init_room_id: recv.roomId, recv_room_id: init.roomId, recv_user_id: init.userId },
        }),
      );
      expect(again.relay_status).toBe(1);
      expect(await pkId(init)).toBe(again.relay_id);
    });

    it('a relay at 2 reaches 4 when its receiver reports started; one at 3 keeps its rooms when the backend stops it', async () => {
      const r2 = byName('2 initiator joined');
      expect(expectOk(await post(r2, 'started', r2.session.recv)).relay_status).toBe(4);
      expect((await read(r2.session.relayId)).rooms).toEqual(
        roomsOf(r2.session.init, r2.session.recv, ['joined', 'joined']),
      );
      expect(statusMoves(await newEvents(r2))).toEqual([[2, 4, '']]);

      const r3 = byName('3 receiver joined, scored');
      expect(expectOk(await server('POST', `/server/relay/${r3.session.relayId}/stop`))).toEqual({
        relay_id: r3.session.relayId,
        relay_status: 6,
      });
      const ended = await read(r3.session.relayId);
      expect({ status: ended.status, stop_reason: ended.stop_reason, rooms: ended.rooms }).toEqual({
        status: 6,
        stop_reason: 'admin',
        rooms: roomsOf(r3.session.init, r3.session.recv, ['agreed', 'joined']),
      });
      expect(ended.winner_room_id).toBe(r3.session.recv.roomId);
      expect([await pkId(r3.session.init), await pkId(r3.session.recv)]).toEqual(['', '']);
      expect(statusMoves(await newEvents(r3))).toEqual([[3, 6, 'admin']]);
    });

    it('a relay at 4: a score counts on top of the old ones, an old score_id stays used, the receiver’s stop ends it', async () => {
      const r = byName('4 both joined, scored and extended');
      const { init, recv, relayId } = r.session;
      const path = `/server/relay/${relayId}/score`;
      expect(expectOk(await server('POST', path, { room_id: recv.roomId, delta: 10 }))).toEqual({
        relay_id: relayId,
        scores: { [init.roomId]: 12, [recv.roomId]: 15 },
        duplicate: false,
        battle: null,
      });
      // gift_old_2 was used by the previous version: relay_score_id is untouched by the migration.
      await t.dataSource.query(
        'INSERT INTO relay_score_id (relay_id, score_id, created_at) VALUES (?, ?, ?)',
        [relayId, 'gift_old_3', Date.now()],
      );
      expect(
        expectOk(
          await server('POST', path, { room_id: init.roomId, delta: 1, score_id: 'gift_old_3' }),
        ),
      ).toEqual({
        relay_id: relayId,
        scores: { [init.roomId]: 12, [recv.roomId]: 15 },
        duplicate: true,
        battle: null,
      });
      expect(expectOk(await post(r, 'stop', recv)).relay_status).toBe(6);
      const ended = await read(relayId);
      expect({
        status: ended.status,
        stop_reason: ended.stop_reason,
        rooms: ended.rooms,
        winner: ended.winner_room_id,
        extends: ended.extends,
      }).toEqual({
        status: 6,
        stop_reason: 'stopped',
        rooms: roomsOf(init, recv, ['joined', 'left:stopped']),
        winner: recv.roomId,
        extends: { b: '2' },
      });
      expect([await pkId(init), await pkId(recv)]).toEqual(['', '']);
      const added = await newEvents(r);
      expect(added.map((e: { type: string }) => e.type)).toEqual([
        'relay.score_changed',
        'relay.status_changed',
      ]);
      expect(statusMoves(added)).toEqual([[4, 6, 'stopped']]);
    });
  });

  describe('down() and up() again', () => {
    let views: Record<string, any>;
    let histories: Record<string, any>;
    /** relay_event's data as stored before down(), and after up() again. */
    let dataBefore: { id: number; data: string }[] = [];
    let dataAgain: { id: number; data: string }[] = [];
    let down: Record<string, unknown>;
    let pristine: Record<string, unknown>;
    let participantsAfterDown: Record<string, string>[] = [];
    let sessionsAfterDown: Record<string, unknown>[] = [];
    let appliedAfterDown: string[] = [];
    let ranAgain: string[] = [];
    let t2: TestApp | undefined;

    beforeAll(async () => {
      views = {};
      histories = {};
      for (const r of relays) {
        views[r.session.relayId] = await read(r.session.relayId, r.session.appId);
        histories[r.session.relayId] = (
          await history(r.session.relayId, '?limit=100', r.session.appId)
        ).list;
      }
      dataBefore = await t.dataSource.query('SELECT id, data FROM relay_event ORDER BY id');
      await t.stop();
      await withDatabase(db.url, MIGRATIONS, async (full) => {
        for (let n = 0; n < UPGRADE.length; n++) await full.undoLastMigration();
        appliedAfterDown = await appliedMigrations(full);
        down = await schemaShape(full);
        participantsAfterDown = await full.query(
          `SELECT id, relay_id, ${OLD_PARTICIPANTS.join(', ')} FROM relay_event ORDER BY id`,
        );
        sessionsAfterDown = await full.query(
          `SELECT relay_id, ${OLD_PARTICIPANTS.join(', ')} FROM relay_session`,
        );
      });
      const fresh = await freshDatabase();
      try {
        pristine = await withDatabase(fresh.url, PREVIOUS, async (old) => {
          await old.runMigrations();
          return schemaShape(old);
        });
      } finally {
        await fresh.drop();
      }
      await withDatabase(db.url, MIGRATIONS, async (full) => {
        ranAgain = (await full.runMigrations()).map((m) => m.name);
        dataAgain = await full.query('SELECT id, data FROM relay_event ORDER BY id');
      });
      t2 = await startTestApp({ ...ENV, DATABASE_URL: db.url });
    }, 120_000);

    afterAll(async () => {
      await t2?.close();
    });

    it('down() restores the previous schema exactly', () => {
      expect(appliedAfterDown).toEqual(PREVIOUS.map((m) => new m().name));
      for (const table of TABLES) {
        expect({ table, shape: down[table] }).toEqual({ table, shape: pristine[table] });
      }
    });

    it('down() fills the participant columns of every event, old and new, from its relay', () => {
      const byRelay = new Map(
        sessionsAfterDown.map((x) => [String(x.relay_id), x as Record<string, string>]),
      );
      const old = new Map(oldParticipants.map((x) => [Number(x.id), x]));
      expect(participantsAfterDown.length).toBeGreaterThan(oldParticipants.length);
      for (const e of participantsAfterDown) {
        const session = byRelay.get(e.relay_id) as Record<string, string>;
        const got = Object.fromEntries(OLD_PARTICIPANTS.map((c) => [c, e[c]]));
        const want = Object.fromEntries(OLD_PARTICIPANTS.map((c) => [c, session[c]]));
        expect({ id: e.id, got }).toEqual({ id: e.id, got: want });
        const before = old.get(Number(e.id));
        if (before !== undefined) {
          expect({ id: e.id, got }).toEqual({
            id: e.id,
            got: Object.fromEntries(OLD_PARTICIPANTS.map((c) => [c, before[c]])),
          });
        }
      }
    });

    it('up() again leaves the data of every event, old and new, byte for byte as it was (no second `rooms`)', () => {
      const old = new Set(relays.flatMap((r) => r.events.map((e) => e.id)));
      expect(dataBefore.length).toBeGreaterThan(old.size);
      const rows = (list: { id: number; data: string }[]) =>
        list.map((row) => ({ id: Number(row.id), data: row.data }));
      expect(rows(dataAgain)).toEqual(rows(dataBefore));
      for (const row of rows(dataAgain)) {
        expect({ id: row.id, rooms: row.data.split('"rooms":').length - 1 }).toEqual({
          id: row.id,
          rooms: 1,
        });
        if (old.has(row.id)) {
          const e = relays.flatMap((r) => r.events).find((x) => x.id === row.id) as OldEvent;
          expect(row.data).toBe(JSON.stringify(migratedData(e.data)));
        }
      }
    });

    it('up() again: the schema matches the entities, and every relay reads as before with its rooms as the migration promises', async () => {
      expect(ranAgain).toEqual(UPGRADE);
      expect(await schemaChanges(db.url)).toEqual([]);
      const app = t2 as TestApp;
      for (const r of relays) {
        const relayId = r.session.relayId;
        const before = views[relayId];
        const view = expectOk(
          await app.call('GET', `/client/relay/${relayId}`, {
            token: tokenFor(app, 'mig_reader', { appId: r.session.appId }),
          }),
        );
        expect(view).toEqual({
          ...before,
          rooms: roomsOf(
            r.session.init,
            r.session.recv,
            promisedStates(before.status, before.stop_reason, before.start_at),
          ),
        });
        const page = expectOk(
          await app.call('GET', `/client/relay/${relayId}/events?limit=100`, {
            token: tokenFor(app, 'mig_reader', { appId: r.session.appId }),
            unchecked: true,
          }),
        );
        expect(page.list).toEqual(histories[relayId]);
      }
      const a1 = A(1);
      const list = expectOk(
        await app.call('GET', '/client/relay?role=any&limit=100', {
          token: tokenFor(app, a1.userId),
        }),
      ).list;
      expect(list.map((x: { relay_id: string }) => x.relay_id)).toEqual(
        relays
          .filter(
            (r) =>
              r.session.appId === APP &&
              [r.session.init.userId, r.session.recv.userId].includes(a1.userId),
          )
          .sort((x, y) => y.id - x.id)
          .map((r) => r.session.relayId),
      );
    });
  });
});
