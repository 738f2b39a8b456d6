import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2';
import { DataSource, QueryFailedError, QueryRunner } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { identityFields, RequestIdentity } from '../common/request-identity';

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
  /** Runs `callback` once this transaction has committed; never if it rolls back. */
  afterCommit(callback: () => void): void;
}

/** Thrown inside a transaction when a conditional update lost a race; the whole unit retries. */
export class ConcurrentUpdate extends Error {
  constructor() {
    super('concurrent update');
  }
}

const MYSQL_RETRYABLE = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);
const MAX_ATTEMPTS = 4;

/**
 * Short transactions with raw parameterised SQL (the repository API costs about a fifth of the
 * hot path's throughput).
 *
 * MySQL/MariaDB: each unit takes a connection of the pool TypeORM made, and talks to mysql2
 * directly: TypeORM's query runner adds a runner object, its own connection bookkeeping and
 * promise layers to every statement, measurable on every request, for nothing used here. Rows
 * are locked with SELECT ... FOR UPDATE, so correctness holds across any number of nodes.
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

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.kind = config.database.kind;
    this.sqlite = this.kind === 'sqlite';
    this.forUpdate = this.sqlite ? '' : ' FOR UPDATE';
    this.forUpdateSkipLocked = this.sqlite ? '' : ' FOR UPDATE SKIP LOCKED';
    this.insertIgnore = this.sqlite ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
  }

  /** Read at each use: re-initialising the data source (as readiness recovery does) makes a new pool. */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { pool: Pool }).pool;
  }

  read<T>(work: (sql: SqlReader) => Promise<T>): Promise<T> {
    if (this.sqlite) return this.serialized(() => work(this.sqliteReader));
    return work(this.mysqlReader);
  }

  /** `who`: the request the unit serves, named by the lines it logs; none for background work. */
  async transaction<T>(work: (sql: Sql) => Promise<T>, who?: RequestIdentity): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.sqlite
          ? await this.serialized(() => this.sqliteUnit(work, who))
          : await this.mysqlUnit(work, who);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
        // Retried races are expected now and then; a stream of them says locks are taken in
        // an order that can deadlock, so each is logged.
        this.logger.warn(
          `transaction retried (attempt ${attempt + 1}): ${String(error)}`,
          identityFields(who),
        );
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  private readonly mysqlReader: SqlReader = {
    rows: <T>(sql: string, params?: unknown[]) => query<T[]>(this.pool, sql, params),
  };

  private readonly sqliteReader: SqlReader = {
    rows: (sql, params) => this.dataSource.query(sql, params),
  };

  private async mysqlUnit<T>(
    work: (sql: Sql) => Promise<T>,
    who: RequestIdentity | undefined,
  ): Promise<T> {
    const connection = await new Promise<PoolConnection>((resolve, reject) =>
      this.pool.getConnection((error, c) => (error ? reject(error) : resolve(c))),
    );
    const committed: (() => void)[] = [];
    try {
      await query(connection, 'START TRANSACTION');
      try {
        const result = await work({
          rows: <R>(sql: string, params?: unknown[]) => query<R[]>(connection, sql, params),
          run: async (sql, params) =>
            (await query<ResultSetHeader>(connection, sql, params)).affectedRows,
          insert: async (sql, params) =>
            Number((await query<ResultSetHeader>(connection, sql, params)).insertId),
          afterCommit: (callback) => committed.push(callback),
        });
        await query(connection, 'COMMIT');
        for (const callback of committed) this.afterCommit(callback, who);
        return result;
      } catch (error) {
        await query(connection, 'ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      connection.release();
    }
  }

  private async sqliteUnit<T>(
    work: (sql: Sql) => Promise<T>,
    who: RequestIdentity | undefined,
  ): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      // IMMEDIATE takes the write lock up front: a deferred transaction that later needs it
      // fails at once with SQLITE_BUSY when another process holds it, instead of waiting.
      await runner.query('BEGIN IMMEDIATE');
      const committed: (() => void)[] = [];
      try {
        const result = await work(wrap(runner, committed));
        await runner.query('COMMIT');
        for (const callback of committed) this.afterCommit(callback, who);
        return result;
      } catch (error) {
        await runner.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
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

function wrap(runner: QueryRunner, committed: (() => void)[]): Sql {
  return {
    rows: (sql, params) => runner.query(sql, params),
    run: async (sql, params) => (await runner.query(sql, params, true)).affected ?? 0,
    insert: async (sql, params) => Number((await runner.query(sql, params, true)).raw),
    afterCommit: (callback) => committed.push(callback),
  };
}

function isRetryable(error: unknown): boolean {
  if (error instanceof ConcurrentUpdate) return true;
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { errno?: number; code?: string } | undefined;
  if (driverError?.code === 'SQLITE_BUSY') return true;
  return driverError?.errno !== undefined && MYSQL_RETRYABLE.has(driverError.errno);
}
