import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource, MigrationExecutor, QueryFailedError, QueryRunner } from 'typeorm';
import { isGalera } from './database.galera';
import { retryReason } from './database.retry';

/**
 * How long a starting node waits for another node's migrations before it gives up and exits
 * (an orchestrator restarts it). Generous: a migration that rebuilds a big table takes minutes.
 */
const WAIT_S = 600;
const SQLITE_RETRY_MS = 100;
/**
 * The Galera lock row's lease: renewed every LEASE_RENEW_MS while migrating, so a node that dies
 * holding it stops others for at most LEASE_MS. Claims are tried again every CLAIM_RETRY_MS.
 */
const LEASE_MS = 30_000;
const LEASE_RENEW_MS = 5_000;
const CLAIM_RETRY_MS = 250;
const LOCK_NAME = 'migrations';

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
    const ran = sqlite
      ? await onSqlite(runner, logger)
      : (await isGalera(runner))
        ? await onGalera(runner, logger)
        : await onMysql(runner, logger);
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
 * Galera replicates rows, not GET_LOCK: each database node would hand out its own lock, and
 * service nodes on different database nodes would migrate together. So the lock is a row of
 * migration_lock, claimed in a transaction: an INSERT of the row, or an UPDATE taking over an
 * expired one. Two nodes claiming at once each see their statement succeed locally, but at
 * COMMIT certification lets only the first writeset through; the other's commit fails (MariaDB
 * reports it as a deadlock) and it tries again later. The table is created here, before any
 * migration, with CREATE TABLE IF NOT EXISTS (DDL runs in total order on every node, so
 * concurrent creators are harmless), and matches the entity MigrationLock.
 */
async function onGalera(runner: QueryRunner, logger: Logger): Promise<string[]> {
  // Reads wait until this node has applied what the cluster committed before them: the
  // migrations table must show what the previous holder ran.
  await runner.query('SET SESSION wsrep_sync_wait = 15');
  await runner.query(
    'CREATE TABLE IF NOT EXISTS migration_lock (name varchar(64) NOT NULL, ' +
      'holder varchar(128) NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (name)) ENGINE=InnoDB',
  );
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const deadline = Date.now() + WAIT_S * 1000;
  for (let told = false; !(await claim(runner, holder)); told = true) {
    if (Date.now() > deadline)
      throw new Error(`the migration lock was not free within ${WAIT_S} s`);
    if (!told) logger.log('another node is migrating; waiting for it');
    await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS));
  }
  // Renewed on the pool, not on the runner, which is busy with the migrations; a renewal that
  // fails is logged, and the lease still covers LEASE_MS from the last one.
  const renewal = setInterval(() => {
    runner.connection
      .query('UPDATE migration_lock SET expires_at = ? WHERE name = ? AND holder = ?', [
        Date.now() + LEASE_MS,
        LOCK_NAME,
        holder,
      ])
      .catch((error: unknown) => logger.warn(`migration lock not renewed: ${String(error)}`));
  }, LEASE_RENEW_MS);
  try {
    return await pending(runner, 'all');
  } finally {
    clearInterval(renewal);
    await runner.query('DELETE FROM migration_lock WHERE name = ? AND holder = ?', [
      LOCK_NAME,
      holder,
    ]);
  }
}

/**
 * One attempt to take the lock row; false when another node holds it or won the race. Run on
 * the runner's own mysql2 connection, not through TypeORM, which logs every failed statement as
 * an error: a claim lost at COMMIT is the expected outcome for all nodes but one.
 */
async function claim(runner: QueryRunner, holder: string): Promise<boolean> {
  const connection = (runner as unknown as { databaseConnection: RawConnection })
    .databaseConnection;
  const run = (sql: string, params: unknown[] = []) =>
    new Promise<{ affectedRows: number }>((resolve, reject) =>
      connection.query(sql, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  const now = Date.now();
  await run('START TRANSACTION');
  try {
    const inserted = await run(
      'INSERT IGNORE INTO migration_lock (name, holder, expires_at) VALUES (?, ?, ?)',
      [LOCK_NAME, holder, now + LEASE_MS],
    );
    let taken = inserted.affectedRows === 1;
    if (!taken) {
      const updated = await run(
        'UPDATE migration_lock SET holder = ?, expires_at = ? WHERE name = ? AND expires_at < ?',
        [holder, now + LEASE_MS, LOCK_NAME, now],
      );
      taken = updated.affectedRows === 1;
    }
    await run(taken ? 'COMMIT' : 'ROLLBACK');
    return taken;
  } catch (error) {
    await run('ROLLBACK').catch(() => undefined);
    // Lost the certification race (or the row was being written by the holder): not ours.
    if (isConflict(error)) return false;
    throw error;
  }
}

interface RawConnection {
  query(
    sql: string,
    params: unknown[],
    callback: (error: Error | null, result: { affectedRows: number }) => void,
  ): void;
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

/** A claim that lost to another node's commit, or ran into its write of the row. */
function isConflict(error: unknown): boolean {
  const reason = retryReason(error, true);
  return reason === 'deadlock' || reason === 'lock_wait' || reason === 'commit';
}

function isBusy(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: string } | undefined)?.code === 'SQLITE_BUSY'
  );
}
