import { Injectable } from '@nestjs/common';
import { Database, Sql, SqlReader } from '../database/database.service';
import { LiveRoom, LiveStatus } from './live-room.entity';

const COLUMNS =
  'live_id AS liveId, app_id AS appId, title, notice, cover_url AS coverUrl, ' +
  'extends_json AS extendsJson, anchor_id AS anchorId, live_status AS liveStatus, pk_id AS pkId, ' +
  'start_at AS startAt, end_at AS endAt, heartbeat_at AS heartbeatAt, ' +
  'created_at AS createdAt, updated_at AS updatedAt';

/** SQL for live rooms. Other modules claim and release rooms through it, inside their units. */
@Injectable()
export class LiveRoomStore {
  constructor(private readonly db: Database) {}

  async insert(sql: Sql, room: LiveRoom): Promise<void> {
    await sql.run(
      'INSERT INTO live_room (live_id, app_id, title, notice, cover_url, extends_json, anchor_id, ' +
        'live_status, pk_id, start_at, end_at, heartbeat_at, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        room.liveId,
        room.appId,
        room.title,
        room.notice,
        room.coverUrl,
        room.extendsJson,
        room.anchorId,
        room.liveStatus,
        room.pkId,
        room.startAt,
        room.endAt,
        room.heartbeatAt,
        room.createdAt,
        room.updatedAt,
      ],
    );
  }

  async find(
    sql: SqlReader,
    appId: string,
    liveId: string,
    lock = false,
  ): Promise<LiveRoom | null> {
    const rows = await sql.rows<LiveRoom>(
      `SELECT ${COLUMNS} FROM live_room WHERE live_id = ? AND app_id = ?${lock ? this.db.forUpdate : ''}`,
      [liveId, appId],
    );
    return rows[0] ?? null;
  }

  /**
   * Locks both rooms of a relay. InnoDB takes the row locks in primary-key order whatever the
   * order of the IN list, so two opposite starts on the same pair queue instead of deadlocking.
   */
  lockPair(sql: Sql, appId: string, a: string, b: string): Promise<LiveRoom[]> {
    return sql.rows<LiveRoom>(
      `SELECT ${COLUMNS} FROM live_room WHERE live_id IN (?, ?) AND app_id = ? ORDER BY live_id${this.db.forUpdate}`,
      [a, b, appId],
    );
  }

  async setStatus(sql: Sql, room: LiveRoom): Promise<void> {
    await sql.run(
      'UPDATE live_room SET live_status = ?, start_at = ?, end_at = ?, heartbeat_at = ?, updated_at = ? ' +
        'WHERE live_id = ?',
      [room.liveStatus, room.startAt, room.endAt, room.heartbeatAt, room.updatedAt, room.liveId],
    );
  }

  /** Answers whether the live room of this anchor took the heartbeat. */
  async heartbeat(
    sql: Sql,
    appId: string,
    liveId: string,
    anchorId: string,
    now: number,
  ): Promise<boolean> {
    const changed = await sql.run(
      'UPDATE live_room SET heartbeat_at = ? WHERE live_id = ? AND app_id = ? AND anchor_id = ? AND live_status = ?',
      [now, liveId, appId, anchorId, LiveStatus.Live],
    );
    return changed === 1;
  }

  /** Live rooms whose last heartbeat is at or before `before`; served by idx_live_room_silence. */
  findSilent(
    sql: SqlReader,
    before: number,
    limit: number,
  ): Promise<Pick<LiveRoom, 'appId' | 'liveId'>[]> {
    return sql.rows(
      'SELECT app_id AS appId, live_id AS liveId FROM live_room WHERE live_status = ? AND heartbeat_at <= ? ' +
        'ORDER BY heartbeat_at LIMIT ?',
      [LiveStatus.Live, before, limit],
    );
  }

  /** Claims a live, unclaimed room for a relay; false when another request got there first. */
  async claim(sql: Sql, liveId: string, relayId: string, now: number): Promise<boolean> {
    const changed = await sql.run(
      "UPDATE live_room SET pk_id = ?, updated_at = ? WHERE live_id = ? AND pk_id = '' AND live_status = ?",
      [relayId, now, liveId, LiveStatus.Live],
    );
    return changed === 1;
  }

  async release(sql: Sql, liveIds: [string, string], relayId: string, now: number): Promise<void> {
    await sql.run(
      "UPDATE live_room SET pk_id = '', updated_at = ? WHERE live_id IN (?, ?) AND pk_id = ?",
      [now, liveIds[0], liveIds[1], relayId],
    );
  }
}
