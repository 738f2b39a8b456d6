import { Injectable } from '@nestjs/common';
import { ConcurrentUpdate, Database, Sql, SqlReader } from '../database/database.service';
import { RelayStatus } from './relay.machine';
import { RelaySession } from './relay.entity';

const COLUMNS =
  'id, relay_id AS relayId, app_id AS appId, init_user_id AS initUserId, ' +
  'init_room_id AS initRoomId, recv_user_id AS recvUserId, recv_room_id AS recvRoomId, status, ' +
  'stop_reason AS stopReason, duration_s AS durationS, extends_json AS extendsJson, ' +
  'scores_json AS scoresJson, version, ' +
  'start_at AS startAt, stop_at AS stopAt, deadline_at AS deadlineAt, ' +
  'created_at AS createdAt, updated_at AS updatedAt';

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
  ): Promise<RelaySession | null> {
    const rows = await sql.rows<RelaySession>(
      `SELECT ${COLUMNS} FROM relay_session WHERE relay_id = ?${appId === null ? '' : ' AND app_id = ?'}` +
        (lock ? this.db.forUpdate : ''),
      appId === null ? [relayId] : [relayId, appId],
    );
    return rows[0] ?? null;
  }

  async insert(sql: Sql, s: RelaySession): Promise<void> {
    await sql.run(
      'INSERT INTO relay_session (relay_id, app_id, init_user_id, init_room_id, recv_user_id, ' +
        'recv_room_id, status, stop_reason, duration_s, extends_json, scores_json, version, ' +
        'start_at, stop_at, deadline_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        s.relayId,
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
  }

  /**
   * Writes `next` over the row read at `next.version - 1`. The row is already locked on MySQL;
   * the version condition is what keeps the write correct should it ever not be.
   */
  async update(sql: Sql, next: RelaySession): Promise<void> {
    const changed = await sql.run(
      'UPDATE relay_session SET status = ?, stop_reason = ?, extends_json = ?, scores_json = ?, ' +
        'version = ?, start_at = ?, stop_at = ?, deadline_at = ?, updated_at = ? ' +
        'WHERE id = ? AND version = ?',
      [
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
        next.version - 1,
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
  async setDeadline(sql: Sql, s: RelaySession, deadlineAt: number | null): Promise<void> {
    await sql.run('UPDATE relay_session SET deadline_at = ? WHERE id = ? AND version = ?', [
      deadlineAt,
      s.id,
      s.version,
    ]);
  }

  list(sql: SqlReader, f: RelayListFilter): Promise<RelaySession[]> {
    const where = ['app_id = ?'];
    const params: unknown[] = [f.appId];
    if (f.role === 'any') {
      where.push('(init_user_id = ? OR recv_user_id = ?)');
      params.push(f.userId, f.userId);
    } else {
      where.push(f.role === 'init' ? 'init_user_id = ?' : 'recv_user_id = ?');
      params.push(f.userId);
    }
    if (f.statuses.length > 0) {
      where.push(`status IN (${f.statuses.map(() => '?').join(', ')})`);
      params.push(...f.statuses);
    }
    if (f.beforeId !== null) {
      where.push('id < ?');
      params.push(f.beforeId);
    }
    params.push(f.limit);
    return sql.rows<RelaySession>(
      `SELECT ${COLUMNS} FROM relay_session WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      params,
    );
  }
}
