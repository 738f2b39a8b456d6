import { Injectable } from '@nestjs/common';
import { ConcurrentUpdate, Database, Sql } from '../database/database.service';
import { marks, Statement, Table } from '../database/table';

/** Whose key: the same key of another user or app is another key. */
export interface IdempotencyScope {
  appId: string;
  userId: string;
  key: string;
}

export interface IdempotencyRecord {
  id: number;
  fingerprint: string;
  state: 'running' | 'done';
  httpStatus: number;
  answer: string | null;
  createdAt: number;
}

/** The answer stored for replay: the envelope without its request id. */
export interface StoredAnswer {
  code: number;
  message: string;
  data?: unknown;
}

/** A key's whole row. */
interface KeyRow extends IdempotencyScope, IdempotencyRecord {}

const KEY = new Table<KeyRow>('idempotency_key', {
  id: { name: 'id', number: true },
  appId: 'app_id',
  userId: 'user_id',
  key: 'idem_key',
  fingerprint: 'fingerprint',
  state: 'state',
  httpStatus: { name: 'http_status', number: true },
  answer: 'answer',
  createdAt: { name: 'created_at', number: true },
});
const SELECT = `SELECT ${KEY.select(['id', 'fingerprint', 'state', 'httpStatus', 'answer', 'createdAt'])} FROM idempotency_key`;

/** SQL for idempotency keys; every write after the claim is conditional on the claim. */
@Injectable()
export class IdempotencyStore {
  /** An insert that skips a key that exists (it answers 0 changed rows then). */
  private readonly claimKey: Statement<KeyRow>;

  constructor(db: Database) {
    this.claimKey = KEY.insert(['id'], db.insertIgnore);
  }

  /**
   * Inserts a running claim unless the key exists, then answers the row and whether this call
   * inserted it. Two requests with one key on two nodes: the unique key makes the second INSERT
   * wait for the first transaction and then skip, so the read that follows (the transaction's
   * first, hence its snapshot) sees the committed claim. The read takes no lock: upgrading the
   * INSERT's shared lock to an exclusive one deadlocks as soon as several requests wait.
   */
  async claim(
    sql: Sql,
    scope: IdempotencyScope,
    fingerprint: string,
    now: number,
  ): Promise<{ inserted: boolean; row: IdempotencyRecord }> {
    const claim: KeyRow = {
      ...scope,
      id: 0,
      fingerprint,
      state: 'running',
      httpStatus: 0,
      answer: null,
      createdAt: now,
    };
    const inserted = await sql.run(this.claimKey.sql, this.claimKey.params(claim));
    const [row] = await sql.rows<IdempotencyRecord>(
      `${SELECT} WHERE app_id = ? AND user_id = ? AND idem_key = ?`,
      [scope.appId, scope.userId, scope.key],
    );
    return { inserted: inserted === 1, row: KEY.read(row) };
  }

  /**
   * Claims an expired key, or a running one past its lease, afresh. Another request that did so
   * first changed created_at: the whole claim retries and reads the row it left.
   */
  async reclaim(sql: Sql, row: IdempotencyRecord, fingerprint: string, now: number) {
    const changed = await sql.run(
      "UPDATE idempotency_key SET fingerprint = ?, state = 'running', http_status = 0, " +
        'answer = NULL, created_at = ? WHERE id = ? AND created_at = ?',
      [fingerprint, now, row.id, row.createdAt],
    );
    if (changed !== 1) throw new ConcurrentUpdate();
  }

  /** Stores the answer of the claim made at `claimedAt`; false if that claim was taken over. */
  async finish(
    sql: Sql,
    id: number,
    claimedAt: number,
    httpStatus: number,
    answer: StoredAnswer,
  ): Promise<boolean> {
    const changed = await sql.run(
      "UPDATE idempotency_key SET state = 'done', http_status = ?, answer = ? " +
        "WHERE id = ? AND created_at = ? AND state = 'running'",
      [httpStatus, JSON.stringify(answer), id, claimedAt],
    );
    return changed === 1;
  }

  /** Gives a running claim up, so that the next request with the key runs afresh. */
  async release(sql: Sql, id: number, claimedAt: number): Promise<void> {
    await sql.run(
      "DELETE FROM idempotency_key WHERE id = ? AND created_at = ? AND state = 'running'",
      [id, claimedAt],
    );
  }

  /**
   * Deletes at most `limit` keys claimed at or before `cutoff`, oldest first; answers how many it
   * found. Served by idx_idempotency_key_created. A key claimed afresh meanwhile (its created_at
   * moved) is not deleted: the DELETE repeats the age condition.
   */
  async deleteExpired(sql: Sql, cutoff: number, limit: number): Promise<number> {
    const found = await sql.rows<{ id: number }>(
      'SELECT id FROM idempotency_key WHERE created_at <= ? ORDER BY created_at LIMIT ?',
      [cutoff, limit],
    );
    if (found.length === 0) return 0;
    const ids = found.map((row) => Number(row.id));
    await sql.run(`DELETE FROM idempotency_key WHERE id IN (${marks(ids)}) AND created_at <= ?`, [
      ...ids,
      cutoff,
    ]);
    return found.length;
  }
}
