import { Injectable } from '@nestjs/common';
import { EventType } from '../common/event-type';
import { RequestIdentity } from '../common/request-identity';
import { Database, Sql, SqlReader } from '../database/database.service';
import { marks, Table } from '../database/table';

/** An event as written; `data` is any JSON value, typed by the writer's own event map. */
export interface NewEvent {
  type: EventType;
  relayId: string;
  appId: string;
  seq: number;
  /** Unix milliseconds. */
  occurredAt: number;
  data: unknown;
  /** Every anchor of the relay, as `,alice,bob,`. */
  userIds: string;
  /** Every room of the relay, as `,room_a,room_b,`. */
  roomIds: string;
  /**
   * The request that caused the event, when it is not the one the transaction serves: a
   * transaction that gathers several requests (gifts) names each event's own. Not stored.
   */
  cause?: RequestIdentity;
}

/** A participant column's value: identifiers hold no comma, so `,id,` finds one exactly. */
export function idList(ids: readonly string[]): string {
  return `,${ids.join(',')},`;
}

/** An event as stored: `data` is its JSON text. */
export interface LoggedEvent extends Omit<NewEvent, 'data'> {
  id: number;
  data: string;
}

/** The event as clients and webhooks receive it (docs/events.md). */
export interface PublicEvent {
  id: number;
  type: EventType;
  relay_id: string;
  app_id: string;
  seq: number;
  occurred_at: string;
  data: unknown;
}

/** What an event is to its receivers: everything but the participant columns. */
export type EventRecord = Pick<
  LoggedEvent,
  'id' | 'type' | 'relayId' | 'appId' | 'seq' | 'occurredAt' | 'data'
>;

export function publicEvent(e: EventRecord): PublicEvent {
  return {
    id: e.id,
    type: e.type,
    relay_id: e.relayId,
    app_id: e.appId,
    seq: e.seq,
    occurred_at: new Date(e.occurredAt).toISOString(),
    data: JSON.parse(e.data),
  };
}

/** The public JSON of an event, built without parsing and re-serialising its data. */
export function publicEventJson(e: EventRecord): string {
  return (
    `{"id":${e.id},"type":${JSON.stringify(e.type)},"relay_id":${JSON.stringify(e.relayId)},` +
    `"app_id":${JSON.stringify(e.appId)},"seq":${e.seq},` +
    `"occurred_at":"${new Date(e.occurredAt).toISOString()}","data":${e.data}}`
  );
}

/** An event's columns: everything but its cause, which is not stored. */
const EVENT = new Table<Omit<LoggedEvent, 'cause'>>('relay_event', {
  id: { name: 'id', number: true },
  type: 'type',
  relayId: 'relay_id',
  appId: 'app_id',
  seq: { name: 'seq', number: true },
  occurredAt: { name: 'occurred_at', number: true },
  data: 'data',
  userIds: 'user_ids',
  roomIds: 'room_ids',
});
const SELECT = `SELECT ${EVENT.select()} FROM relay_event`;
const INSERT = EVENT.insert(['id']);
const read = (rows: LoggedEvent[]) => rows.map((row) => EVENT.read(row));

/** Joins the transaction that appends `events` (in log order). */
export type AppendHook = (sql: Sql, events: LoggedEvent[]) => Promise<void>;

/**
 * Asked before expired events are deleted, inside the deleting transaction: deletes what it keeps
 * for those events and answers the ids of those that must stay for now.
 */
export type PurgeHook = (sql: Sql, eventIds: number[]) => Promise<number[]>;

/** Where a retention pass has got to in the order of idx_relay_event_occurred. */
export interface LogPosition {
  occurredAt: number;
  id: number;
}

/**
 * The oldest events that occurred before a cutoff, after a position: a range of
 * idx_relay_event_occurred (whose entries end with the primary key, so the order is served).
 */
export const EXPIRED_EVENTS_SQL =
  'SELECT id, occurred_at AS occurredAt FROM relay_event WHERE occurred_at < ? ' +
  'AND (occurred_at > ? OR (occurred_at = ? AND id > ?)) ORDER BY occurred_at, id LIMIT ?';

/** Hears a committed event; `data` is the event's data as written, not yet JSON. */
type CommittedListener = (event: LoggedEvent, data: unknown) => void;

export interface ReplayFilter {
  appId: string;
  afterId: number;
  limit: number;
  /** Events of sessions where this user is an anchor... */
  userId?: string;
  /** ...or of sessions that involve this room. */
  roomId?: string;
}

/**
 * The domain event log. Writers append inside their transaction; consumers either join that
 * transaction (`onAppend`, for work that must commit with the event, like queuing webhooks)
 * or hear after it commits (`onCommitted`, a nudge to look at the log now). The writers know
 * nothing of who consumes.
 */
@Injectable()
export class EventLog {
  private readonly appendHooks: AppendHook[] = [];
  private readonly purgeHooks: PurgeHook[] = [];
  private readonly committedListeners: CommittedListener[] = [];

  constructor(private readonly db: Database) {}

  onAppend(hook: AppendHook): void {
    this.appendHooks.push(hook);
  }

  onCommitted(listener: CommittedListener): void {
    this.committedListeners.push(listener);
  }

  onPurge(hook: PurgeHook): void {
    this.purgeHooks.push(hook);
  }

  async append(sql: Sql, e: NewEvent): Promise<LoggedEvent> {
    const [logged] = await this.appendAll(sql, [e]);
    return logged;
  }

  /**
   * Appends events, each relay's in seq order, with one statement. The ids a multi-row insert
   * gets need not be consecutive (interleaved auto-increment, as multi-primary clusters run it),
   * so when a hook needs them they are read back by their (relay, seq) key.
   */
  async appendAll(sql: Sql, events: NewEvent[]): Promise<LoggedEvent[]> {
    if (events.length === 0) return [];
    const logged = events.map((e): LoggedEvent => ({ ...e, id: 0, data: JSON.stringify(e.data) }));
    // The insert goes with the unit's next statement or its COMMIT. A hook needs the ids in the
    // transaction, so they are read back (in the insert's packet); without hooks, only a lone
    // event's id is wanted, by the committed listeners, and its insert tells it.
    sql.later(
      INSERT.rows(logged.length),
      logged.flatMap((e) => INSERT.params(e)),
      logged.length === 1 ? { inserted: (id) => (logged[0].id = id) } : undefined,
    );
    if (this.appendHooks.length > 0) await this.readIds(sql, logged);
    for (const hook of this.appendHooks) await hook(sql, logged);
    sql.afterCommit(() =>
      logged.forEach((e, i) =>
        this.committedListeners.forEach((listener) => listener(e, events[i].data)),
      ),
    );
    return logged;
  }

  /**
   * The ids of events just inserted, by their key uq_relay_event_relay_seq (the cross product
   * of relays and seqs may name other events too; only the inserted ones are looked up).
   */
  private async readIds(sql: Sql, logged: LoggedEvent[]): Promise<void> {
    const relays = [...new Set(logged.map((e) => e.relayId))];
    const seqs = [...new Set(logged.map((e) => e.seq))];
    const rows = await sql.rows<{ id: number; relayId: string; seq: number }>(
      `SELECT id, relay_id AS relayId, seq FROM relay_event WHERE relay_id IN (${marks(relays)}) AND seq IN (${marks(seqs)})`,
      [...relays, ...seqs],
    );
    const ids = new Map(rows.map((r) => [`${r.relayId}\u0000${r.seq}`, Number(r.id)]));
    for (const e of logged) e.id = ids.get(`${e.relayId}\u0000${e.seq}`) as number;
  }

  /** Every app's events after `afterId`, in log order: the feed each node follows. */
  after(afterId: number, limit: number): Promise<LoggedEvent[]> {
    return this.db.read(async (sql) =>
      read(
        await sql.rows<LoggedEvent>(`${SELECT} WHERE id > ? ORDER BY id LIMIT ?`, [afterId, limit]),
      ),
    );
  }

  /** The events among `ids` that exist by now. */
  byIds(ids: number[]): Promise<LoggedEvent[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.read((sql) => this.find(sql, ids));
  }

  /** The events among `ids` that exist, in log order, read with `sql`. */
  async find(sql: SqlReader, ids: number[]): Promise<LoggedEvent[]> {
    if (ids.length === 0) return [];
    return read(
      await sql.rows<LoggedEvent>(`${SELECT} WHERE id IN (${marks(ids)}) ORDER BY id`, ids),
    );
  }

  /** The newest id in the log, or 0. */
  async lastId(): Promise<number> {
    const [row] = await this.db.read((sql) =>
      sql.rows<{ id: number | null }>('SELECT MAX(id) AS id FROM relay_event'),
    );
    return Number(row?.id ?? 0);
  }

  /**
   * One relay's events after the event `afterId`, in seq order. Within a relay ids grow with
   * seq (both are written under the session's row lock), so `id > afterId` is the same cut as
   * after that event's seq; served by uq_relay_event_relay_seq (relay_id, seq).
   */
  ofRelay(relayId: string, afterId: number | null, limit: number): Promise<LoggedEvent[]> {
    return this.db.read(async (sql) =>
      read(
        await sql.rows<LoggedEvent>(
          `${SELECT} WHERE relay_id = ? AND id > ? ORDER BY seq LIMIT ?`,
          [relayId, afterId ?? 0, limit],
        ),
      ),
    );
  }

  /**
   * One app's events after `afterId` for one anchor or one room, in log order. The app's range
   * of idx_relay_event_app is read in id order and filtered, as the live feed does in memory.
   */
  replay(f: ReplayFilter): Promise<LoggedEvent[]> {
    const column = f.roomId !== undefined ? 'room_ids' : 'user_ids';
    const needle = idList([f.roomId ?? f.userId ?? '']);
    return this.db.read(async (sql) =>
      read(
        await sql.rows<LoggedEvent>(
          `${SELECT} WHERE app_id = ? AND id > ? AND INSTR(${column}, ?) > 0 ORDER BY id LIMIT ?`,
          [f.appId, f.afterId, needle, f.limit],
        ),
      ),
    );
  }

  /**
   * Deletes the events that occurred before `cutoff`, at most `limit` of them after `after` in
   * occurrence order, except those a purge hook keeps. Answers the position of the last event
   * looked at (null when none was) and how many were deleted.
   */
  async purge(
    sql: Sql,
    cutoff: number,
    after: LogPosition | null,
    limit: number,
  ): Promise<{ last: LogPosition | null; found: number; deleted: number }> {
    const from = after ?? { occurredAt: -1, id: 0 };
    const found = (
      await sql.rows<LogPosition>(EXPIRED_EVENTS_SQL, [
        cutoff,
        from.occurredAt,
        from.occurredAt,
        from.id,
        limit,
      ])
    ).map((row) => ({ occurredAt: Number(row.occurredAt), id: Number(row.id) }));
    if (found.length === 0) return { last: null, found: 0, deleted: 0 };
    const kept = new Set<number>();
    const ids = found.map((e) => e.id);
    for (const hook of this.purgeHooks) for (const id of await hook(sql, ids)) kept.add(id);
    const expired = ids.filter((id) => !kept.has(id));
    if (expired.length > 0) {
      await sql.run(`DELETE FROM relay_event WHERE id IN (${marks(expired)})`, expired);
    }
    return { last: found[found.length - 1], found: found.length, deleted: expired.length };
  }
}
