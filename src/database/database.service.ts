import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2';
import { Counter } from 'prom-client';
import { DataSource, QueryFailedError, QueryRunner } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { identityFields, RequestIdentity } from '../common/request-identity';
import { Metrics } from '../observability/metrics.service';
import { hostDown } from './database.hosts';
import {
  backoffMs,
  ConcurrentUpdate,
  MAX_ATTEMPTS,
  RetryReason,
  retryReason,
} from './database.retry';

export { ConcurrentUpdate } from './database.retry';

/** Reading outside a transaction; every statement is parameterised with `?`. */
export interface SqlReader {
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** What a unit of work does inside its transaction. */
export interface Sql extends SqlReader {
  /** Runs a write and answers how many rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Runs an INSERT and answers the auto-increment id it generated. */
  insert(sql: string, params?: unknown[]): Promise<number>;
  /**
   * A write the unit does not wait for: it goes to the database with the unit's next statement
   * or with its COMMIT, in one round trip, in the order written. `changes`: the rows it must
   * change, else the unit fails as a ConcurrentUpdate, before COMMIT is sent; `inserted` is told
   * the auto-increment id it generated, before any afterCommit callback runs. A write that fails
   * fails the unit, as any statement does.
   */
  later(sql: string, params: unknown[], expect?: LaterExpect): void;
  /** Runs `callback` once this transaction has committed; never if it rolls back. */
  afterCommit(callback: () => void): void;
  /** The request this unit serves (what it writes was caused by it); none for background work. */
  readonly cause: RequestIdentity | undefined;
}

/** What a deferred write (Sql.later) must do, or what is to be told of it. */
export interface LaterExpect {
  changes?: number;
  inserted?: (id: number) => void;
}

/** Checks a deferred write's answer against what it had to do (see Sql.later). */
function settle(expect: LaterExpect | undefined, affected: number, insertId: number): void {
  const { changes, inserted } = expect ?? {};
  if (changes !== undefined && affected !== changes) throw new ConcurrentUpdate();
  inserted?.(insertId);
}

/**
 * Galera's causality check for the session's reads: 1 makes every SELECT, and START TRANSACTION,
 * wait until this node has applied everything the cluster committed before it, so a write made
 * through one node is seen by the next request on any other (read-your-writes across nodes).
 */
const WSREP_SYNC_WAIT = 1;

/** Where a unit of work failed: only one that failed before COMMIT was sent is surely undone. */
type Phase = 'working' | 'committing';

/**
 * Short transactions with raw parameterised SQL (the repository API costs about a fifth of the
 * hot path's throughput).
 *
 * MySQL/MariaDB: each unit takes a connection of the pool TypeORM made, and talks to mysql2
 * directly: TypeORM's query runner adds a runner object, its own connection bookkeeping and
 * promise layers to every statement, measurable on every request, for nothing used here. Rows
 * are locked with SELECT ... FOR UPDATE, so correctness holds across any number of nodes. On a
 * Galera cluster those locks are only its own database node's; the units write the rows they
 * locked (a version, a state), so of two nodes' units on one row certification commits one and
 * the other fails at COMMIT as a deadlock and is run again.
 * SQLite: better-sqlite3 has one connection per process, on which interleaved async units
 * would see each other's uncommitted writes, so every unit, reads included, runs alone behind
 * a promise queue, through TypeORM.
 */
@Injectable()
export class Database {
  readonly forUpdate: string;
  /** A lock that answers no row at once, rather than waiting, when another transaction holds it. */
  readonly forUpdateSkipLocked: string;
  /** `INSERT` that skips a row whose unique key exists (run() then answers 0). */
  readonly insertIgnore: string;
  /** Which SQL the database speaks, for the few statements that differ. */
  readonly kind: 'mysql' | 'sqlite';
  private readonly sqlite: boolean;
  private readonly logger = new Logger(Database.name);
  private queue: Promise<unknown> = Promise.resolve();
  private readonly retries: Counter<'reason'>;
  /** Whether the server is a Galera node, asked on the first connection (see prepare()). */
  private galera?: Promise<boolean>;
  private readonly prepared = new WeakSet<PoolConnection>();
  /** MariaDB checks a deferred write's changed rows itself (see Packets). */
  private readonly checksInServer: boolean;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: Metrics,
  ) {
    this.retries = new Counter({
      name: 'database_transaction_retries_total',
      help: 'Units of work run again after a conflict, deadlock or lost connection, by reason',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
    this.kind = config.database.kind;
    this.sqlite = this.kind === 'sqlite';
    this.forUpdate = this.sqlite ? '' : ' FOR UPDATE';
    this.forUpdateSkipLocked = this.sqlite ? '' : ' FOR UPDATE SKIP LOCKED';
    this.insertIgnore = this.sqlite ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
    this.checksInServer = dataSource.options.type === 'mariadb';
  }

  /** Read at each use: re-initialising the data source (as readiness recovery does) makes a new pool. */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { pool: Pool }).pool;
  }

  /**
   * Reads are retried like units of work (see transaction), so a reader whose database node died
   * gets its answer from the next one.
   */
  read<T>(work: (sql: SqlReader) => Promise<T>): Promise<T> {
    if (this.sqlite) return this.serialized(() => work(this.sqliteReader));
    return this.retrying(() => work(this.mysqlReader), undefined);
  }

  /** `who`: the request the unit serves, named by the lines it logs; none for background work. */
  transaction<T>(work: (sql: Sql) => Promise<T>, who?: RequestIdentity): Promise<T> {
    return this.retrying(
      (phase) =>
        this.sqlite
          ? this.serialized(() => this.sqliteUnit(work, who, phase))
          : this.mysqlUnit(work, who, phase),
      who,
    );
  }

  /**
   * Runs `unit` until it succeeds, fails with an error that is an answer in itself, or has had
   * MAX_ATTEMPTS, waiting backoffMs() between attempts. On Galera a certification conflict
   * surfaces at COMMIT as a deadlock, often several times in a row for a hot row, so the budget
   * is larger and the waits grow, instead of four quick tries that contention used up.
   */
  private async retrying<T>(
    unit: (phase: { at: Phase }) => Promise<T>,
    who: RequestIdentity | undefined,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const phase = { at: 'working' as Phase };
      let reason: RetryReason | null;
      try {
        return await unit(phase);
      } catch (error) {
        reason = retryReason(error, phase.at === 'committing');
        if (attempt >= MAX_ATTEMPTS || reason === null) throw error;
        this.retries.inc({ reason });
        // Retried races are expected now and then; a stream of them says locks are taken in
        // an order that can deadlock (or, on Galera, that nodes write the same rows), so each
        // is logged.
        this.logger.warn(
          `transaction retried (${reason}, attempt ${attempt + 1}): ${String(error)}`,
          identityFields(who),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, Math.random())));
    }
  }

  private readonly mysqlReader: SqlReader = {
    rows: async <T>(sql: string, params?: unknown[]) => {
      const connection = await this.connection();
      try {
        return await query<T[]>(connection, sql, params);
      } catch (error) {
        this.discardIfBroken(connection, error);
        throw error;
      } finally {
        this.release(connection);
      }
    },
  };

  private readonly sqliteReader: SqlReader = {
    rows: (sql, params) => this.dataSource.query(sql, params),
  };

  /**
   * A connection of the pool, made ready for this server once: on a Galera node its session
   * gets wsrep_sync_wait. Asked on the connection itself, not at start, so that a pool that
   * fails over (database.hosts.ts) prepares each new connection wherever it goes.
   */
  private async connection(): Promise<PoolConnection> {
    const connection = await new Promise<PoolConnection>((resolve, reject) =>
      this.pool.getConnection((error, c) => (error ? reject(error) : resolve(c))),
    );
    if (this.prepared.has(connection)) return connection;
    try {
      this.galera ??= query<{ Value: string }[]>(connection, "SHOW VARIABLES LIKE 'wsrep_on'")
        .then((rows) => rows.length > 0 && rows[0].Value.toUpperCase() === 'ON')
        .catch((error: unknown) => {
          this.galera = undefined;
          throw error;
        });
      if (await this.galera) {
        await query(connection, 'SET SESSION wsrep_sync_wait = ?', [WSREP_SYNC_WAIT]);
      }
    } catch (error) {
      this.discardIfBroken(connection, error);
      this.release(connection);
      throw error;
    }
    this.prepared.add(connection);
    return connection;
  }

  /**
   * A connection whose server is gone, or is a Galera node outside the primary component (1047),
   * is destroyed rather than pooled, and in the second case its host is given up (the pool's own
   * socket errors already do that for a dead node).
   */
  private discardIfBroken(connection: PoolConnection, error: unknown): void {
    const reason = retryReason(error, false);
    if (reason !== 'node' && reason !== 'connection') return;
    if (reason === 'node') hostDown((connection as unknown as { stream?: unknown }).stream);
    this.prepared.delete(connection);
    connection.destroy();
  }

  /** Back to the pool; for one discardIfBroken destroyed, the pool only serves its queue. */
  private release(connection: PoolConnection): void {
    connection.release();
  }

  /**
   * One unit on a MySQL connection. The statements a unit issues in one turn of the event loop
   * (those of a Promise.all), with START TRANSACTION and the writes queued by `later`, travel as
   * one multi-statement packet, run in the order issued; the last queued writes travel with
   * COMMIT. Each round trip made with a row lock held is time every other writer of that row
   * waits: a hot relay's score changes made nine of them under its lock, and make two on MariaDB
   * (three on MySQL, whose checked writes are answered before COMMIT is sent; see Packets).
   */
  private async mysqlUnit<T>(
    work: (sql: Sql) => Promise<T>,
    who: RequestIdentity | undefined,
    phase: { at: Phase },
  ): Promise<T> {
    const connection = await this.connection();
    const packets = new Packets(connection, this.checksInServer);
    const committed: (() => void)[] = [];
    const format = (sql: string, params?: unknown[]) =>
      params === undefined ? sql : connection.format(sql, params);
    try {
      try {
        const result = await work({
          rows: <R>(sql: string, params?: unknown[]) => packets.statement<R[]>(format(sql, params)),
          run: async (sql, params) =>
            (await packets.statement<ResultSetHeader>(format(sql, params))).affectedRows,
          insert: async (sql, params) =>
            Number((await packets.statement<ResultSetHeader>(format(sql, params))).insertId),
          later: (sql, params, expect) => packets.later(format(sql, params), expect),
          afterCommit: (callback) => committed.push(callback),
          cause: who,
        });
        await packets.checkedWrites();
        phase.at = 'committing';
        await packets.commit();
        packets.close();
        for (const callback of committed) this.afterCommit(callback, who);
        return result;
      } catch (error) {
        if (packets.close()) await query(connection, 'ROLLBACK').catch(() => undefined);
        this.discardIfBroken(connection, error);
        throw error;
      }
    } finally {
      this.release(connection);
    }
  }

  private async sqliteUnit<T>(
    work: (sql: Sql) => Promise<T>,
    who: RequestIdentity | undefined,
    phase: { at: Phase },
  ): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const committed: (() => void)[] = [];
    const sql = wrap(runner, committed, who);
    try {
      await runner.connect();
      // IMMEDIATE takes the write lock up front: a deferred transaction that later needs it
      // fails at once with SQLITE_BUSY when another process holds it, instead of waiting.
      await runner.query('BEGIN IMMEDIATE');
      try {
        const result = await work(sql);
        await sql.flush();
        phase.at = 'committing';
        await runner.query('COMMIT');
        sql.end();
        for (const callback of committed) this.afterCommit(callback, who);
        return result;
      } catch (error) {
        sql.end();
        await runner.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      sql.end();
      await runner.release();
    }
  }

  private afterCommit(callback: () => void, who: RequestIdentity | undefined): void {
    try {
      callback();
    } catch (error) {
      this.logger.error(`after-commit callback failed: ${String(error)}`, identityFields(who));
    }
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * One statement on a mysql2 pool or connection. Failures become TypeORM's QueryFailedError, as
 * from the query runner, so the error filter and the retry rule see one kind of error.
 */
function query<T>(on: Pool | PoolConnection, sql: string, params?: unknown[]): Promise<T> {
  return new Promise((resolve, reject) =>
    on.query(sql, params, (error, result) =>
      error ? reject(new QueryFailedError(sql, params, error)) : resolve(result as T),
    ),
  );
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/** The message of the SIGNAL of a checked write that changed other than its rows (MariaDB). */
const CHECK_FAILED = 'checked write changed other rows';

function checkFailed(error: unknown): boolean {
  const driverError = (error instanceof QueryFailedError ? error.driverError : error) as
    { errno?: number; sqlMessage?: string } | undefined;
  return driverError?.errno === 1644 && driverError.sqlMessage === CHECK_FAILED;
}

/**
 * A statement waiting for its packet, its parameters already in its text: a write queued by
 * `later`, or one the unit awaits.
 */
interface Queued {
  text: string;
  expect?: LaterExpect;
  answer?: { resolve(result: unknown): void; reject(error: unknown): void };
}

/**
 * The packets of one MySQL unit (see mysqlUnit): statements wait in `pending` until the end of
 * the turn in which they were issued, or until COMMIT, and go together.
 */
class Packets {
  private readonly pending: Queued[] = [{ text: 'START TRANSACTION' }];
  private begun = false;
  private scheduled = false;
  private closed = false;
  /**
   * The first failure of a packet. It stays the unit's failure even if the unit caught it: a
   * packet's failure may be a deferred write's, which nothing else would surface, and the writes
   * after it in the packet never ran.
   */
  private failure: Error | undefined;

  /**
   * `checksInServer`: on MariaDB a checked write is wrapped in a compound statement that fails
   * (SIGNAL) when it changed other than its rows, so it can travel with COMMIT too, which then
   * never runs; MySQL has no compound statements outside stored programs, so there the checked
   * writes are answered in a packet of their own first.
   */
  constructor(
    private readonly connection: PoolConnection,
    private readonly checksInServer: boolean,
  ) {}

  statement<R>(text: string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      // A statement issued after the unit ended (by work it left running) is refused, not kept.
      if (this.closed) return reject(new Error('transaction ended'));
      this.pending.push({ text, answer: { resolve: resolve, reject } });
      if (this.scheduled) return;
      this.scheduled = true;
      // Failures reach the statements' own promises; this one only ends the turn's packet.
      queueMicrotask(() => void this.flush().catch(() => undefined));
    });
  }

  later(text: string, expect?: LaterExpect): void {
    if (this.closed) return;
    // A compound statement answers no insert id, so a write that wants its id is not wrapped.
    if (expect?.changes === undefined || expect.inserted !== undefined || !this.checksInServer) {
      this.pending.push({ text, expect });
      return;
    }
    this.pending.push({
      text:
        `BEGIN NOT ATOMIC ${text}; IF ROW_COUNT() <> ${expect.changes} THEN ` +
        `SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${CHECK_FAILED}'; END IF; END`,
    });
  }

  /**
   * Sends the queued writes up to the last whose changes are checked, so that COMMIT follows
   * only if they hold; the writes after it wait for COMMIT.
   */
  async checkedWrites(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    let count = this.pending.length;
    while (count > 0 && this.pending[count - 1].expect?.changes === undefined) count--;
    if (count > 0) await this.flush(count);
  }

  /** COMMIT, with the writes still queued; nothing at all for a unit that wrote nothing. */
  async commit(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.begun && this.pending.length === 1) return;
    this.pending.push({ text: 'COMMIT' });
    await this.flush();
  }

  /** Drops what was not sent; answers whether a transaction was begun (and needs a ROLLBACK). */
  close(): boolean {
    this.closed = true;
    for (const q of this.pending.splice(0)) q.answer?.reject(new Error('transaction ended'));
    return this.begun;
  }

  private async flush(count = this.pending.length): Promise<void> {
    this.scheduled = false;
    if (this.closed) return;
    const batch = this.pending.splice(0, count);
    if (batch.length === 0) return;
    this.begun = true;
    let results: unknown[];
    try {
      const text = batch.map((q) => q.text).join(';\n');
      const result = await query<unknown>(this.connection, text);
      results = batch.length === 1 ? [result] : (result as unknown[]);
    } catch (error) {
      const failure = checkFailed(error) ? new ConcurrentUpdate() : error;
      this.failure ??= asError(failure);
      for (const q of batch) q.answer?.reject(failure);
      throw failure;
    }
    let failure: Error | undefined;
    batch.forEach((q, i) => {
      try {
        settleResult(q, results[i]);
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    });
    // A queued write that did not hold fails every statement of its packet: the unit must not
    // go on from reads that its own failed write came before.
    for (const [i, q] of batch.entries()) {
      if (failure === undefined) q.answer?.resolve(results[i]);
      else q.answer?.reject(failure);
    }
    if (failure !== undefined) {
      this.failure ??= failure;
      throw failure;
    }
  }
}

/** A deferred write's answer from mysql2: a ResultSetHeader (START TRANSACTION's too). */
function settleResult(deferred: Queued, result: unknown): void {
  const header = result as Partial<ResultSetHeader>;
  settle(deferred.expect, header.affectedRows ?? 0, Number(header.insertId ?? 0));
}

/**
 * SQLite has no round trips to save: a deferred write runs, in order, just before the unit's
 * next statement or its COMMIT (flush). Statements issued together (a Promise.all) run one
 * after another in the order issued, as they would in one MySQL packet.
 */
function wrap(
  runner: QueryRunner,
  committed: (() => void)[],
  cause: RequestIdentity | undefined,
): Sql & { flush(): Promise<void>; end(): void } {
  const pending: { sql: string; params: unknown[]; expect?: LaterExpect }[] = [];
  let tail: Promise<unknown> = Promise.resolve();
  // A deferred write's failure stays the unit's, as on MySQL (see Packets.failure).
  let failure: Error | undefined;
  let ended = false;
  const writeDeferred = async () => {
    // A statement issued after the unit ended (by work it left running) is refused.
    if (ended) throw new Error('transaction ended');
    if (failure !== undefined) throw failure;
    try {
      for (const { sql, params, expect } of pending.splice(0)) {
        const written = await runner.query(sql, params, true);
        settle(expect, written.affected ?? 0, Number(written.raw));
      }
    } catch (error) {
      failure = asError(error);
      throw error;
    }
  };
  const inTurn = <T>(step: () => Promise<T>): Promise<T> => {
    const result = tail.then(async () => {
      await writeDeferred();
      return step();
    });
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    cause,
    rows: <R>(sql: string, params?: unknown[]) =>
      inTurn(async () => (await runner.query(sql, params)) as R[]),
    run: (sql, params) => inTurn(async () => (await runner.query(sql, params, true)).affected ?? 0),
    insert: (sql, params) =>
      inTurn(async () => Number((await runner.query(sql, params, true)).raw)),
    later: (sql, params, expect) => pending.push({ sql, params, expect }),
    afterCommit: (callback) => committed.push(callback),
    flush: () => inTurn(() => Promise.resolve()),
    end: () => {
      ended = true;
    },
  };
}
