import { QueryFailedError } from 'typeorm';

/** Thrown inside a transaction when a conditional update lost a race; the whole unit retries. */
export class ConcurrentUpdate extends Error {
  constructor() {
    super('concurrent update');
  }
}

/**
 * Why a unit of work is run again, the label of database_transaction_retries_total:
 * - race: a conditional update of ours found the row changed (ConcurrentUpdate);
 * - deadlock: 1213, which on Galera is also a certification conflict (another node committed a
 *   write to the same rows first) or a brute-force abort by a replicated writeset;
 * - lock_wait: 1205, a row lock not granted in time;
 * - commit: 1180, COMMIT refused (Galera: the writeset failed certification, or the node left
 *   the cluster while committing); the transaction was rolled back, so running it again is safe;
 * - node: 1047, the Galera node is not part of the primary component (joining, or cut off), so
 *   the connection's host is given up for the next one;
 * - connection: the connection broke (its node died) or could not be made, before COMMIT was
 *   sent: nothing was committed. One that breaks during COMMIT is never retried: the commit may
 *   have happened, and a unit is only run again when it certainly did not;
 * - busy: SQLite's SQLITE_BUSY, another process holds the write lock.
 */
export type RetryReason =
  'race' | 'deadlock' | 'lock_wait' | 'commit' | 'node' | 'connection' | 'busy';

const BY_ERRNO = new Map<number, RetryReason>([
  [1213, 'deadlock'],
  [1205, 'lock_wait'],
  [1180, 'commit'],
  [1047, 'node'],
]);

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/** The reason to run a failed unit again, or null when its error is an answer in itself. */
export function retryReason(error: unknown, committing: boolean): RetryReason | null {
  if (error instanceof ConcurrentUpdate) return 'race';
  const driverError = (error instanceof QueryFailedError ? error.driverError : error) as
    { errno?: number; code?: string; fatal?: boolean } | undefined;
  if (driverError === null || typeof driverError !== 'object') return null;
  if (driverError.code === 'SQLITE_BUSY') return 'busy';
  const byErrno = driverError.errno === undefined ? undefined : BY_ERRNO.get(driverError.errno);
  if (byErrno !== undefined) return byErrno;
  // mysql2 marks an error that ended the connection `fatal`; some (a statement on a connection
  // already closed) carry no code.
  const broken =
    (driverError.code !== undefined && CONNECTION_CODES.has(driverError.code)) ||
    (driverError.fatal === true && driverError.errno === undefined);
  if (broken) {
    return committing ? null : 'connection';
  }
  return null;
}

/** Attempts of one unit of work in all, the first included. */
export const MAX_ATTEMPTS = 10;
const BASE_MS = 4;
const CAP_MS = 250;

/**
 * How long to wait before attempt `attempt + 1`, given a uniform `random` in [0, 1): the
 * exponential step (4 ms doubling to at most 250 ms) with "equal jitter", half of it fixed and
 * half random. The fixed half makes sure a conflict backs off at all; the random half spreads
 * the nodes that conflicted, so they do not meet again at the same moment. Nine waits at most
 * come to under 1.3 s, well inside a client's timeout, and hold no connection meanwhile.
 */
export function backoffMs(attempt: number, random: number): number {
  const step = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (random * step) / 2);
}
