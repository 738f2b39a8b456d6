import { Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { ConcurrentUpdate, Database, Sql, SqlReader } from '../database/database.service';
import { marks, Statement, Table } from '../database/table';
import { Ticket } from './match.machine';

/** A ticket's row: the ticket and the column that keeps a room to one waiting ticket. */
interface TicketRow extends Ticket {
  waitingRoom: string | null;
}

const TICKET = new Table<TicketRow>('relay_match_ticket', {
  matchId: 'match_id',
  appId: 'app_id',
  roomId: 'room_id',
  userId: 'user_id',
  pool: 'pool',
  state: 'state',
  reason: 'reason',
  relayId: 'relay_id',
  waitingRoom: 'waiting_room',
  createdAt: { name: 'created_at', number: true },
  expiresAt: { name: 'expires_at', number: true },
  updatedAt: { name: 'updated_at', number: true },
});

const FIELDS = [
  'matchId',
  'appId',
  'roomId',
  'userId',
  'pool',
  'state',
  'reason',
  'relayId',
  'createdAt',
  'expiresAt',
  'updatedAt',
] as const;
const SELECT = `SELECT ${TICKET.select(FIELDS)} FROM relay_match_ticket`;
const INSERT = TICKET.insert();
/** A move of a waiting ticket: conditional on its still waiting, so each is made once. */
const MOVE = TICKET.update(
  ['state', 'reason', 'relayId', 'waitingRoom', 'updatedAt'],
  "match_id = ? AND state = 'waiting'",
);

const row = (t: Ticket): TicketRow => ({
  ...t,
  waitingRoom: t.state === 'waiting' ? t.roomId : null,
});

/** SQL for tickets and pools. */
@Injectable()
export class MatchStore {
  private readonly newPool: Statement<{ appId: string; pool: string }>;

  constructor(db: Database) {
    const verb = db.insertIgnore;
    this.newPool = {
      sql: `${verb} INTO relay_match_pool (app_id, pool, version) VALUES (?, ?, 0)`,
      params: (p) => [p.appId, p.pool],
    };
  }

  /**
   * Takes the pool's lock by writing its row (match.entity.ts, MatchPool): an UPDATE first, and
   * only for a new pool an insert, so that two requests never hold a shared lock on the row and
   * then both wait to write it.
   */
  async lockPool(sql: Sql, appId: string, pool: string): Promise<void> {
    const bump = 'UPDATE relay_match_pool SET version = version + 1 WHERE app_id = ? AND pool = ?';
    if ((await sql.run(bump, [appId, pool])) === 1) return;
    await sql.run(this.newPool.sql, this.newPool.params({ appId, pool }));
    await sql.run(bump, [appId, pool]);
  }

  async find(sql: SqlReader, appId: string, matchId: string): Promise<Ticket | null> {
    const rows = await sql.rows<Ticket>(`${SELECT} WHERE match_id = ? AND app_id = ?`, [
      matchId,
      appId,
    ]);
    return rows.length === 0 ? null : TICKET.read(rows[0]);
  }

  /** The room's waiting ticket, if any; served by uq_match_ticket_waiting_room. */
  async waitingOf(sql: SqlReader, appId: string, roomId: string): Promise<Ticket | null> {
    const rows = await sql.rows<Ticket>(`${SELECT} WHERE app_id = ? AND waiting_room = ?`, [
      appId,
      roomId,
    ]);
    return rows.length === 0 ? null : TICKET.read(rows[0]);
  }

  /**
   * The pool's waiting tickets, longest waiting first, that have not run out by `now`; served by
   * idx_match_ticket_pool. A few at a time: one of them may have to be cancelled (its room went).
   */
  async oldestWaiting(
    sql: SqlReader,
    appId: string,
    pool: string,
    now: number,
    limit: number,
  ): Promise<Ticket[]> {
    const rows = await sql.rows<Ticket>(
      `${SELECT} WHERE app_id = ? AND pool = ? AND state = 'waiting' AND expires_at > ? ` +
        'ORDER BY created_at, match_id LIMIT ?',
      [appId, pool, now, limit],
    );
    return rows.map((r) => TICKET.read(r));
  }

  /**
   * A new ticket. Two requests for one room in two pools (two locks) may both find it without a
   * waiting ticket: the unique key lets one insert, and the other retries and finds that one.
   */
  async insert(sql: Sql, t: Ticket): Promise<void> {
    try {
      await sql.run(INSERT.sql, INSERT.params(row(t)));
    } catch (error) {
      if (isDuplicateKey(error)) throw new ConcurrentUpdate();
      throw error;
    }
  }

  /** New tickets with one statement (see insert). */
  async insertAll(sql: Sql, tickets: Ticket[]): Promise<void> {
    if (tickets.length === 0) return;
    try {
      await sql.run(
        INSERT.rows(tickets.length),
        tickets.flatMap((t) => INSERT.params(row(t))),
      );
    } catch (error) {
      if (isDuplicateKey(error)) throw new ConcurrentUpdate();
      throw error;
    }
  }

  /**
   * Moves of waiting tickets out of waiting with one statement, each conditional on its ticket
   * still waiting: if another request moved one first, the whole unit runs again.
   */
  async moveAll(sql: Sql, moved: Ticket[]): Promise<void> {
    if (moved.length === 0) return;
    const ids = moved.map((t) => t.matchId);
    const pick = (of: (t: Ticket) => unknown) => ({
      sql: `CASE match_id ${moved.map(() => 'WHEN ? THEN ?').join(' ')} END`,
      params: moved.flatMap((t) => [t.matchId, of(t)]),
    });
    const set = [pick((t) => t.state), pick((t) => t.reason), pick((t) => t.relayId)];
    const changed = await sql.run(
      `UPDATE relay_match_ticket SET state = ${set[0].sql}, reason = ${set[1].sql}, ` +
        `relay_id = ${set[2].sql}, waiting_room = NULL, updated_at = ? ` +
        `WHERE match_id IN (${marks(ids)}) AND state = 'waiting'`,
      [...set.flatMap((p) => p.params), moved[0].updatedAt, ...ids],
    );
    if (changed !== moved.length) throw new ConcurrentUpdate();
  }

  /** Writes a move of a waiting ticket; another request that moved it first makes this retry. */
  async move(sql: Sql, next: Ticket): Promise<void> {
    if ((await sql.run(MOVE.sql, MOVE.params(row(next), next.matchId))) !== 1) {
      throw new ConcurrentUpdate();
    }
  }

  /** The waiting tickets of these rooms (at most one each). */
  async waitingOfRooms(sql: SqlReader, appId: string, roomIds: string[]): Promise<Ticket[]> {
    const rows = await sql.rows<Ticket>(
      `${SELECT} WHERE app_id = ? AND waiting_room IN (${roomIds.map(() => '?').join(', ')})`,
      [appId, ...roomIds],
    );
    return rows.map((r) => TICKET.read(r));
  }

  /** Tickets still waiting past their time, oldest first; served by idx_match_ticket_due. */
  async findExpired(sql: SqlReader, now: number, limit: number): Promise<Ticket[]> {
    const rows = await sql.rows<Ticket>(
      `${SELECT} WHERE state = 'waiting' AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
      [now, limit],
    );
    return rows.map((r) => TICKET.read(r));
  }

  /** How many tickets of a pool are waiting and have not run out. */
  async countWaiting(sql: SqlReader, appId: string, pool: string, now: number): Promise<number> {
    const [found] = await sql.rows<{ n: number }>(
      "SELECT COUNT(*) AS n FROM relay_match_ticket WHERE app_id = ? AND pool = ? AND state = 'waiting' AND expires_at > ?",
      [appId, pool, now],
    );
    return Number(found?.n ?? 0);
  }
}

function isDuplicateKey(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
