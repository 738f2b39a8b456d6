import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor, QueryFailedError, QueryRunner } from 'typeorm';

/**
 * How long a starting node waits for another node's migrations before it gives up and exits
 * (an orchestrator restarts it). Generous: a migration that rebuilds a big table takes minutes.
 */
const WAIT_S = 600;
const SQLITE_RETRY_MS = 100;

/**
 * Runs the pending migrations with the database locked against every other node doing the same.
 * TypeORM's own `migrationsRun` takes no lock: it reads the applied migrations, then runs the
 * rest, so nodes that start together each run the same migrations and all but one fail
 * ("Table 'live_room' already exists"). Under the lock the reading and the running are one step:
 * the first node migrates, the others then find nothing pending.
 */
export async function migrateUnderLock(dataSource: DataSource): Promise<void> {
  const logger = new Logger('Migrations');
  // One connection for the lock and the migrations: a MySQL lock belongs to the session that
  // took it, and better-sqlite3 has only the one connection anyway.
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const sqlite = dataSource.options.type === 'better-sqlite3';
    const ran = sqlite ? await onSqlite(runner, logger) : await onMysql(runner, logger);
    logger.log(ran.length === 0 ? 'schema up to date' : `ran ${ran.length}: ${ran.join(', ')}`);
  } finally {
    await runner.release();
  }
}

/**
 * GET_LOCK is held by the connection, so a node that dies while migrating frees it at once.
 * Its name is per database: test and staging databases on one server do not wait for each
 * other (a name may not exceed 64 characters).
 */
async function onMysql(runner: QueryRunner, logger: Logger): Promise<string[]> {
  const name = "LEFT(CONCAT('relay_migrations:', DATABASE()), 64)";
  const take = async (waitS: number) =>
    ((await runner.query(`SELECT GET_LOCK(${name}, ?) AS got`, [waitS])) as { got: unknown }[])[0]
      .got;
  if (Number(await take(0)) !== 1) {
    logger.log('another node is migrating; waiting for it');
    if (Number(await take(WAIT_S)) !== 1) {
      throw new Error(`the migration lock was not free within ${WAIT_S} s`);
    }
  }
  try {
    return await pending(runner, 'all');
  } finally {
    await runner.query(`SELECT RELEASE_LOCK(${name})`);
  }
}

/**
 * BEGIN IMMEDIATE takes SQLite's write lock before anything is read, so another process on the
 * file waits (busy timeout, then again until WAIT_S) instead of reading a schema that is about
 * to change. The migrations run inside that one transaction, so TypeORM must not open its own.
 */
async function onSqlite(runner: QueryRunner, logger: Logger): Promise<string[]> {
  const deadline = Date.now() + WAIT_S * 1000;
  for (let told = false; ; told = true) {
    try {
      await runner.query('BEGIN IMMEDIATE');
      break;
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
      if (!told) logger.log('another process is migrating; waiting for it');
      await new Promise((resolve) => setTimeout(resolve, SQLITE_RETRY_MS));
    }
  }
  try {
    const ran = await pending(runner, 'none');
    await runner.query('COMMIT');
    return ran;
  } catch (error) {
    await runner.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function pending(runner: QueryRunner, transaction: 'all' | 'none'): Promise<string[]> {
  const executor = new MigrationExecutor(runner.connection, runner);
  executor.transaction = transaction;
  return (await executor.executePendingMigrations()).map((migration) => migration.name);
}

function isBusy(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: string } | undefined)?.code === 'SQLITE_BUSY'
  );
}
