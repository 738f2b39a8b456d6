import { Injectable } from '@nestjs/common';
import { Database, Sql, SqlReader } from '../database/database.service';
import { marks, Table } from '../database/table';
import { LiveRoom, LiveStatus } from './live-room.entity';

const ROOM = new Table<LiveRoom>('live_room', {
  liveId: 'live_id',
  appId: 'app_id',
  title: 'title',
  notice: 'notice',
  coverUrl: 'cover_url',
  extendsJson: 'extends_json',
  anchorId: 'anchor_id',
  liveStatus: 'live_status',
  pkId: 'pk_id',
  startAt: 'start_at',
  endAt: 'end_at',
  heartbeatAt: 'heartbeat_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
});
const SELECT = `SELECT ${ROOM.select()} FROM live_room`;
const INSERT = ROOM.insert();
const SET_STATUS = ROOM.update(
  ['liveStatus', 'startAt', 'endAt', 'heartbeatAt', 'updatedAt'],
  'live_id = ?',
);

/** SQL for live rooms. Other modules claim and release rooms through it, inside their units. */
@Injectable()
export class LiveRoomStore {
  constructor(private readonly db: Database) {}

  async insert(sql: Sql, room: LiveRoom): Promise<void> {
    await sql.run(INSERT.sql, INSERT.params(room));
  }

  async find(
    sql: SqlReader,
    appId: string,
    liveId: string,
    lock = false,
  ): Promise<LiveRoom | null> {
    const rows = await sql.rows<LiveRoom>(
      `${SELECT} WHERE live_id = ? AND app_id = ?${lock ? this.db.forUpdate : ''}`,
      [liveId, appId],
    );
    return rows[0] ?? null;
  }

  /**
   * Locks the rooms of a relay, one row at a time in one fixed order, so that any two starts
   * over overlapping rooms queue instead of deadlocking. One statement per room, each by its key:
   * on a small table MySQL may run an IN list as a scan that locks rows outside the list too.
   */
  async lockAll(sql: Sql, appId: string, liveIds: readonly string[]): Promise<LiveRoom[]> {
    const rooms: LiveRoom[] = [];
    for (const liveId of inKeyOrder(liveIds)) {
      const room = await this.find(sql, appId, liveId, true);
      if (room) rooms.push(room);
    }
    return rooms;
  }

  /** The rooms of these ids (any order; those not found are left out), without locks. */
  async findAll(sql: SqlReader, appId: string, liveIds: readonly string[]): Promise<LiveRoom[]> {
    if (liveIds.length === 0) return [];
    return sql.rows<LiveRoom>(`${SELECT} WHERE live_id IN (${marks(liveIds)}) AND app_id = ?`, [
      ...liveIds,
      appId,
    ]);
  }

  /**
   * Claims each room for its relay with one statement, each only if still live and free; answers
   * whether all were (if not, the caller rolls back: its reading of the rooms was overtaken).
   */
  async claimEach(sql: Sql, claims: ReadonlyMap<string, string>, now: number): Promise<boolean> {
    const ids = [...claims.keys()].sort();
    const changed = await sql.run(
      `UPDATE live_room SET pk_id = CASE live_id ${ids.map(() => 'WHEN ? THEN ?').join(' ')} END, ` +
        `updated_at = ? WHERE live_id IN (${marks(ids)}) ` +
        "AND pk_id = '' AND live_status = ?",
      [...ids.flatMap((id) => [id, claims.get(id)]), now, ...ids, LiveStatus.Live],
    );
    return changed === ids.length;
  }

  setStatus(sql: Sql, room: LiveRoom): void {
    sql.later(SET_STATUS.sql, SET_STATUS.params(room, room.liveId));
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

  /**
   * Claims live, unclaimed rooms for a relay, all or none; false when another request got to
   * one of them first (the caller then rolls back). In the same order and by key, as lockAll.
   */
  async claimAll(
    sql: Sql,
    liveIds: readonly string[],
    relayId: string,
    now: number,
  ): Promise<boolean> {
    for (const liveId of inKeyOrder(liveIds)) {
      const changed = await sql.run(
        "UPDATE live_room SET pk_id = ?, updated_at = ? WHERE live_id = ? AND pk_id = '' AND live_status = ?",
        [relayId, now, liveId, LiveStatus.Live],
      );
      if (changed !== 1) return false;
    }
    return true;
  }

  /** Frees the rooms that this relay still holds, in the same order and by key, as lockAll. */
  release(sql: Sql, liveIds: readonly string[], relayId: string, now: number): void {
    for (const liveId of inKeyOrder(liveIds)) {
      sql.later("UPDATE live_room SET pk_id = '', updated_at = ? WHERE live_id = ? AND pk_id = ?", [
        now,
        liveId,
        relayId,
      ]);
    }
  }
}

/** The one order in which every writer of several rooms takes their row locks. */
const inKeyOrder = (liveIds: readonly string[]) => [...new Set(liveIds)].sort();
