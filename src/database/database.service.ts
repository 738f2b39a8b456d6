import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, QueryFailedError, QueryRunner } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app.config';

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
 * Short transactions over TypeORM's connections, with raw parameterised SQL (the repository
 * API costs about a fifth of the hot path's throughput).
 *
 * MySQL/MariaDB: each unit takes a pooled connection; rows are locked with SELECT ... FOR
 * UPDATE, so correctness holds across any number of nodes. SQLite: better-sqlite3 has one
 * connection per process, on which interleaved async units would see each other's
 * uncommitted writes, so every unit, reads included, runs alone behind a promise queue.
 */
@Injectable()
export class Database {
  readonly forUpdate: string;
  /** `INSERT` that skips a row whose unique key exists (run() then answers 0). */
  readonly insertIgnore: string;
  private readonly sqlite: boolean;
  private readonly logger = new Logger(Database.name);
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.sqlite = config.database.kind === 'sqlite';
    this.forUpdate = this.sqlite ? '' : ' FOR UPDATE';
    this.insertIgnore = this.sqlite ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
  }

  read<T>(work: (sql: SqlReader) => Promise<T>): Promise<T> {
    if (this.sqlite) return this.serialized(() => work(this.reader));
    return work(this.reader);
  }

  async transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.sqlite ? await this.serialized(() => this.once(work)) : await this.once(work);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  private readonly reader: SqlReader = {
    rows: (sql, params) => this.dataSource.query(sql, params),
  };

  private async once<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const [begin, commit, rollback] = this.sqlite
      ? // IMMEDIATE takes the write lock up front: a deferred transaction that later needs it
        // fails at once with SQLITE_BUSY when another process holds it, instead of waiting.
        ['BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK']
      : ['START TRANSACTION', 'COMMIT', 'ROLLBACK'];
    try {
      await runner.connect();
      await runner.query(begin);
      const committed: (() => void)[] = [];
      try {
        const result = await work(wrap(runner, committed));
        await runner.query(commit);
        for (const callback of committed) this.afterCommit(callback);
        return result;
      } catch (error) {
        await runner.query(rollback).catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  private afterCommit(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.logger.error(`after-commit callback failed: ${String(error)}`);
    }
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function wrap(runner: QueryRunner, committed: (() => void)[]): Sql {
  return {
    rows: (sql, params) => runner.query(sql, params),
    run: async (sql, params) => (await runner.query(sql, params, true)).affected ?? 0,
    insert: async (sql, params) => {
      const { raw } = await runner.query(sql, params, true);
      // mysql2 answers a ResultSetHeader; better-sqlite3 the lastInsertRowid itself.
      return Number(
        typeof raw === 'object' && raw !== null ? (raw as { insertId: number }).insertId : raw,
      );
    },
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
