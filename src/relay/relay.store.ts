import { Injectable } from '@nestjs/common';
import { ConcurrentUpdate, Database, Sql, SqlReader } from '../database/database.service';
import { RelayStatus, RoomSnapshot } from './relay.machine';
import { RelaySession } from './relay.entity';

/** A session as the service works with it: its rooms read, not JSON. */
export type Relay = Omit<RelaySession, 'roomsJson'> & { rooms: RoomSnapshot[] };

/** The row as read: `rooms` still JSON text, parsed in place (no copy of the row). */
type RelayRow = Omit<Relay, 'rooms'> & { rooms: string | RoomSnapshot[] };

const toRelay = (row: RelayRow): Relay => {
  row.rooms = JSON.parse(row.rooms as string) as RoomSnapshot[];
  return row as Relay;
};

const FIELDS: [column: string, field: keyof RelayRow][] = [
  ['id', 'id'],
  ['relay_id', 'relayId'],
  ['rooms_json', 'rooms'],
  ['app_id', 'appId'],
  ['init_user_id', 'initUserId'],
  ['init_room_id', 'initRoomId'],
  ['recv_user_id', 'recvUserId'],
  ['recv_room_id', 'recvRoomId'],
  ['status', 'status'],
  ['stop_reason', 'stopReason'],
  ['duration_s', 'durationS'],
  ['extends_json', 'extendsJson'],
  ['scores_json', 'scoresJson'],
  ['version', 'version'],
  ['start_at', 'startAt'],
  ['stop_at', 'stopAt'],
  ['deadline_at', 'deadlineAt'],
  ['created_at', 'createdAt'],
  ['updated_at', 'updatedAt'],
];
const columns = (table = '') =>
  FIELDS.map(([column, field]) => `${table}${column} AS ${field}`).join(', ');
const COLUMNS = columns();

export interface RelayListFilter {
  appId: string;
  userId: string;
  role: 'init' | 'recv' | 'any';
  statuses: RelayStatus[];
  beforeId: number | null;
  limit: number;
}

/** SQL for relay sessions. Every status change is conditional on the version it was read at. */
@Injectable()
export class RelayStore {
  constructor(private readonly db: Database) {}

  async find(
    sql: SqlReader,
    relayId: string,
    appId: string | null,
    lock = false,
  ): Promise<Relay | null> {
    const rows = await sql.rows<RelayRow>(
      `SELECT ${COLUMNS} FROM relay_session WHERE relay_id = ?${appId === null ? '' : ' AND app_id = ?'}` +
        (lock ? this.db.forUpdate : ''),
      appId === null ? [relayId] : [relayId, appId],
    );
    return rows.length === 0 ? null : toRelay(rows[0]);
  }

  /** The session and a member row for each of its anchors. */
  async insert(sql: Sql, s: Relay): Promise<void> {
    const id = await sql.insert(
      'INSERT INTO relay_session (relay_id, rooms_json, app_id, init_user_id, init_room_id, ' +
        'recv_user_id, recv_room_id, status, stop_reason, duration_s, extends_json, scores_json, ' +
        'version, start_at, stop_at, deadline_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        s.relayId,
        JSON.stringify(s.rooms),
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
    await sql.run(
      `INSERT INTO relay_member (app_id, user_id, session_id, role) VALUES ${s.rooms.map(() => '(?, ?, ?, ?)').join(', ')}`,
      s.rooms.flatMap((r) => [s.appId, r.userId, id, r.role]),
    );
  }

  /**
   * Writes `next` over the row read at version `read`. The row is already locked on MySQL; the
   * version condition is what keeps the write correct should it ever not be.
   */
  async update(sql: Sql, next: Relay, read: number): Promise<void> {
    const changed = await sql.run(
      'UPDATE relay_session SET rooms_json = ?, status = ?, stop_reason = ?, extends_json = ?, ' +
        'scores_json = ?, version = ?, start_at = ?, stop_at = ?, deadline_at = ?, updated_at = ? ' +
        'WHERE id = ? AND version = ?',
      [
        JSON.stringify(next.rooms),
        next.status,
        next.stopReason,
        next.extendsJson,
        next.scoresJson,
        next.version,
        next.startAt,
        next.stopAt,
        next.deadlineAt,
        next.updatedAt,
        next.id,
        read,
      ],
    );
    if (changed !== 1) throw new ConcurrentUpdate();
  }

  /**
   * Records that `scoreId` has been used on the relay; false when it already was. The primary
   * key decides, not a read before the write, so two requests with one id never both succeed.
   */
  async claimScoreId(sql: Sql, relayId: string, scoreId: string, now: number): Promise<boolean> {
    const inserted = await sql.run(
      `${this.db.insertIgnore} INTO relay_score_id (relay_id, score_id, created_at) VALUES (?, ?, ?)`,
      [relayId, scoreId, now],
    );
    return inserted === 1;
  }

  /** Sessions whose next timer is due, oldest first; served by idx_relay_session_deadline. */
  async findDue(sql: SqlReader, now: number, limit: number): Promise<string[]> {
    const rows = await sql.rows<{ relayId: string }>(
      'SELECT relay_id AS relayId FROM relay_session WHERE deadline_at <= ? ORDER BY deadline_at LIMIT ?',
      [now, limit],
    );
    return rows.map((r) => r.relayId);
  }

  /** Moves a deadline that the settings have pushed out since it was computed; no event. */
  async setDeadline(sql: Sql, s: Relay, deadlineAt: number | null): Promise<void> {
    await sql.run('UPDATE relay_session SET deadline_at = ? WHERE id = ? AND version = ?', [
      deadlineAt,
      s.id,
      s.version,
    ]);
  }

  /** The user's relays, newest first: the member key's range for the user, joined to sessions. */
  async list(sql: SqlReader, f: RelayListFilter): Promise<Relay[]> {
    const where = ['m.app_id = ?', 'm.user_id = ?'];
    const params: unknown[] = [f.appId, f.userId];
    if (f.role !== 'any') {
      where.push('m.role = ?');
      params.push(f.role);
    }
    if (f.statuses.length > 0) {
      where.push(`s.status IN (${f.statuses.map(() => '?').join(', ')})`);
      params.push(...f.statuses);
    }
    if (f.beforeId !== null) {
      where.push('m.session_id < ?');
      params.push(f.beforeId);
    }
    params.push(f.limit);
    const rows = await sql.rows<RelayRow>(
      `SELECT ${columns('s.')} FROM relay_member m ` +
        `JOIN relay_session s ON s.id = m.session_id WHERE ${where.join(' AND ')} ` +
        'ORDER BY m.session_id DESC LIMIT ?',
      params,
    );
    return rows.map(toRelay);
  }
}
