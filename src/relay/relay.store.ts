import { Injectable } from '@nestjs/common';
import { ExtendsMap } from '../common/extends.map';
import { Database, Sql, SqlReader } from '../database/database.service';
import { marks, Table } from '../database/table';
import { RelaySnapshot, RelayStatus } from './relay.machine';
import { Scores } from './relay.score';

/**
 * The newest battle as the session shows it: the battle module's view, stored and shown as it
 * is; the relay reads nothing of it but its number.
 */
export interface NewestBattle {
  battle_no: number;
  phase: string;
}

/** Who started the relay: an anchor's invitation, matchmaking, or the customer's backend. */
export const RELAY_ORIGINS = ['invite', 'match', 'server'] as const;
export type RelayOrigin = (typeof RELAY_ORIGINS)[number];

/** A session as the service works with it: the machine's snapshot and what surrounds it. */
export interface Relay extends RelaySnapshot {
  /** Internal order of creation; the list endpoint's cursor. */
  id: number;
  relayId: string;
  appId: string;
  initUserId: string;
  initRoomId: string;
  /** The first receiver's, in relays of any size. */
  recvUserId: string;
  recvRoomId: string;
  extends: ExtendsMap;
  scores: Scores;
  /** The newest battle as the session shows it, or null before the first. */
  battle: NewestBattle | null;
  origin: RelayOrigin;
  /** Grows by one with every event the relay records: the `seq` of its latest event. */
  version: number;
  updatedAt: number;
}

const RELAY = new Table<Relay>('relay_session', {
  id: { name: 'id', number: true },
  relayId: 'relay_id',
  rooms: { name: 'rooms_json', json: true },
  appId: 'app_id',
  initUserId: 'init_user_id',
  initRoomId: 'init_room_id',
  recvUserId: 'recv_user_id',
  recvRoomId: 'recv_room_id',
  status: 'status',
  stopReason: 'stop_reason',
  durationS: 'duration_s',
  extends: { name: 'extends_json', json: true },
  scores: { name: 'scores_json', json: true },
  battle: { name: 'battle_json', json: true },
  origin: 'origin',
  version: 'version',
  startAt: 'start_at',
  stopAt: 'stop_at',
  deadlineAt: 'deadline_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
});

/** Who takes part in which relay, with which room (relay.entity.ts, RelayMember). */
interface Member {
  appId: string;
  userId: string;
  sessionId: number;
  role: 'init' | 'recv';
  roomId: string;
}
const MEMBER = new Table<Member>('relay_member', {
  appId: 'app_id',
  userId: 'user_id',
  sessionId: 'session_id',
  role: 'role',
  roomId: 'room_id',
});

/** A score_id used on a relay (relay.entity.ts, RelayScoreId). */
interface ScoreIdRow {
  relayId: string;
  scoreId: string;
  createdAt: number;
}
const SCORE_ID = new Table<ScoreIdRow>('relay_score_id', {
  relayId: 'relay_id',
  scoreId: 'score_id',
  createdAt: 'created_at',
});

const SELECT = `SELECT ${RELAY.select()} FROM relay_session`;
const INSERT = RELAY.insert(['id']);
const INSERT_MEMBERS = MEMBER.insert();
const CLAIM_SCORE = SCORE_ID.insert();
/** Everything a change can move; the identity of the relay and its rooms' anchors never change. */
const UPDATE = RELAY.update(
  [
    'rooms',
    'status',
    'stopReason',
    'extends',
    'scores',
    'battle',
    'version',
    'startAt',
    'stopAt',
    'deadlineAt',
    'updatedAt',
  ],
  'id = ? AND version = ?',
);

/** What the `relays_active` gauge runs at each scrape; a range of idx_relay_session_status. */
export const RELAYS_ACTIVE_SQL =
  'SELECT status, COUNT(*) AS n FROM relay_session WHERE status < 5 GROUP BY status';

export interface RelayListFilter {
  appId: string;
  statuses: RelayStatus[];
  beforeId: number | null;
  limit: number;
}

/** A user's relays as one of its anchors: as the initiator, a receiver, or either. */
export interface AnchorFilter extends RelayListFilter {
  userId: string;
  role: 'init' | 'recv' | 'any';
}

/** SQL for relay sessions. Every change is conditional on the version it was read at. */
@Injectable()
export class RelayStore {
  /** An insert of score ids that skips those the relay has used (they count 0 changed rows). */
  private readonly claimScores: (rows: number) => string;

  constructor(private readonly db: Database) {
    const claim = SCORE_ID.insert([], db.insertIgnore);
    this.claimScores = (rows) => claim.rows(rows);
  }

  /** `lock` 'skip': no row, without waiting, when another transaction holds it (sweeps). */
  async find(
    sql: SqlReader,
    relayId: string,
    appId: string | null,
    lock: boolean | 'skip' = false,
  ): Promise<Relay | null> {
    const rows = await sql.rows<Relay>(
      `${SELECT} WHERE relay_id = ?${appId === null ? '' : ' AND app_id = ?'}` +
        (lock === 'skip' ? this.db.forUpdateSkipLocked : lock ? this.db.forUpdate : ''),
      appId === null ? [relayId] : [relayId, appId],
    );
    return rows.length === 0 ? null : RELAY.read(rows[0]);
  }

  /** The session and a member row for each of its anchors. */
  async insert(sql: Sql, s: Relay): Promise<void> {
    const id = await sql.insert(INSERT.sql, INSERT.params(s));
    this.insertMembers(sql, [s], () => id);
  }

  /**
   * Several sessions with two statements and a read: the ids of a multi-row insert need not be
   * consecutive (interleaved auto-increment on a multi-primary cluster), so the members' session
   * ids are read back by relay id.
   */
  async insertAll(sql: Sql, sessions: Relay[]): Promise<void> {
    if (sessions.length === 1) return this.insert(sql, sessions[0]);
    await sql.run(
      INSERT.rows(sessions.length),
      sessions.flatMap((s) => INSERT.params(s)),
    );
    const rows = await sql.rows<{ id: number; relayId: string }>(
      `SELECT id, relay_id AS relayId FROM relay_session WHERE relay_id IN (${marks(sessions)})`,
      sessions.map((s) => s.relayId),
    );
    const ids = new Map(rows.map((r) => [r.relayId, Number(r.id)]));
    this.insertMembers(sql, sessions, (s) => ids.get(s.relayId) as number);
  }

  private insertMembers(sql: Sql, sessions: Relay[], idOf: (s: Relay) => number): void {
    const members = sessions.flatMap((s) =>
      s.rooms.map((r): Member => ({
        appId: s.appId,
        userId: r.userId,
        sessionId: idOf(s),
        role: r.role,
        roomId: r.roomId,
      })),
    );
    sql.later(
      INSERT_MEMBERS.rows(members.length),
      members.flatMap((m) => INSERT_MEMBERS.params(m)),
    );
  }

  /**
   * Writes `next` over the row read at version `read`. The row is already locked on MySQL; the
   * version condition is what keeps the write correct should it ever not be.
   */
  update(sql: Sql, next: Relay, read: number): void {
    sql.later(UPDATE.sql, UPDATE.params(next, next.id, read), { changes: 1 });
  }

  /** Which of `scoreIds` the relay has used already. */
  async usedScoreIds(sql: SqlReader, relayId: string, scoreIds: string[]): Promise<Set<string>> {
    if (scoreIds.length === 0) return new Set();
    const rows = await sql.rows<{ scoreId: string }>(
      `SELECT score_id AS scoreId FROM relay_score_id WHERE relay_id = ? AND score_id IN (${marks(scoreIds)})`,
      [relayId, ...scoreIds],
    );
    return new Set(rows.map((r) => r.scoreId));
  }

  /**
   * Records that `scoreIds` have been used on the relay, read as unused under its lock. The
   * primary key still decides: should another writer have used one meanwhile (a database that
   * does not hold the lock across nodes), the whole change runs again and finds it used.
   */
  claimScoreIds(sql: Sql, relayId: string, scoreIds: string[], now: number): void {
    if (scoreIds.length === 0) return;
    const rows = scoreIds.map((scoreId): ScoreIdRow => ({ relayId, scoreId, createdAt: now }));
    sql.later(
      this.claimScores(rows.length),
      rows.flatMap((row) => CLAIM_SCORE.params(row)),
      { changes: rows.length },
    );
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
  list(sql: SqlReader, f: AnchorFilter): Promise<Relay[]> {
    const where = ['m.app_id = ?', 'm.user_id = ?'];
    const params: unknown[] = [f.appId, f.userId];
    if (f.role !== 'any') {
      where.push('m.role = ?');
      params.push(f.role);
    }
    return this.members(sql, where, params, f);
  }

  /** The relays that include a room, newest first: a range of idx_relay_member_room. */
  listByRoom(sql: SqlReader, roomId: string, f: RelayListFilter): Promise<Relay[]> {
    return this.members(sql, ['m.app_id = ?', 'm.room_id = ?'], [f.appId, roomId], f);
  }

  private async members(
    sql: SqlReader,
    where: string[],
    params: unknown[],
    f: RelayListFilter,
  ): Promise<Relay[]> {
    if (f.statuses.length > 0) {
      where.push(`s.status IN (${marks(f.statuses)})`);
      params.push(...f.statuses);
    }
    if (f.beforeId !== null) {
      where.push('m.session_id < ?');
      params.push(f.beforeId);
    }
    params.push(f.limit);
    const rows = await sql.rows<Relay>(
      `SELECT ${RELAY.select(undefined, 's')} FROM relay_member m ` +
        `JOIN relay_session s ON s.id = m.session_id WHERE ${where.join(' AND ')} ` +
        'ORDER BY m.session_id DESC LIMIT ?',
      params,
    );
    return rows.map((row) => RELAY.read(row));
  }

  /** Relays not yet ended, by status, over the whole database. */
  async countActive(sql: SqlReader): Promise<{ status: number; n: number }[]> {
    const rows = await sql.rows<{ status: number; n: number }>(RELAYS_ACTIVE_SQL);
    return rows.map((row) => ({ status: Number(row.status), n: Number(row.n) }));
  }
}
