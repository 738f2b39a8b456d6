import { Injectable } from '@nestjs/common';
import { ConcurrentUpdate, Database, Sql } from '../database/database.service';

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

const COLUMNS =
  'id, fingerprint, state, http_status AS httpStatus, answer, created_at AS createdAt';

/** SQL for idempotency keys; every write after the claim is conditional on the claim. */
@Injectable()
export class IdempotencyStore {
  constructor(private readonly db: Database) {}

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
    const inserted = await sql.run(
      `${this.db.insertIgnore} INTO idempotency_key (app_id, user_id, idem_key, fingerprint, ` +
        "state, http_status, answer, created_at) VALUES (?, ?, ?, ?, 'running', 0, NULL, ?)",
      [scope.appId, scope.userId, scope.key, fingerprint, now],
    );
    const [row] = await sql.rows<IdempotencyRecord>(
      `SELECT ${COLUMNS} FROM idempotency_key WHERE app_id = ? AND user_id = ? AND idem_key = ?`,
      [scope.appId, scope.userId, scope.key],
    );
    return { inserted: inserted === 1, row: { ...row, createdAt: Number(row.createdAt) } };
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
    await sql.run(
      `DELETE FROM idempotency_key WHERE id IN (${ids.map(() => '?').join(', ')}) AND created_at <= ?`,
      [...ids, cutoff],
    );
    return found.length;
  }
}
