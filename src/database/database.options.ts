import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { MysqlConnectionOptions } from 'typeorm/driver/mysql/MysqlConnectionOptions';
import { AppConfig } from '../config/app.config';
import { HostRing, parseDatabaseUrl } from './database.hosts';
import { InitialSchema1764115200000 } from './migrations/1764115200000-initial-schema';
import { RoomSilenceIndex1764201600000 } from './migrations/1764201600000-room-silence-index';
import { Notifications1764288000000 } from './migrations/1764288000000-notifications';
import { RetentionIndexes1764374400000 } from './migrations/1764374400000-retention-indexes';
import { Scores1764460800000 } from './migrations/1764460800000-scores';
import { IdempotencyKeys1764547200000 } from './migrations/1764547200000-idempotency-keys';
import { GroupRelays1764633600000 } from './migrations/1764633600000-group-relays';
import { RoomsJsonWider1764720000000 } from './migrations/1764720000000-rooms-json-wider';
import { Battles1764806400000 } from './migrations/1764806400000-battles';
import { Matchmaking1764979200000 } from './migrations/1764979200000-matchmaking';
import { GaleraSupport1765065600000 } from './migrations/1765065600000-galera-support';
import { WebhookTraceparent1765152000000 } from './migrations/1765152000000-webhook-traceparent';

/**
 * The entities that describe the tables, given by the application that lists its modules' (the
 * database knows no feature). The migrations create auto-increment keys as BIGINT on
 * MySQL/MariaDB and INTEGER on SQLite, hence a list for each.
 */
export interface EntityLists {
  mysql: DataSourceOptions['entities'];
  sqlite: DataSourceOptions['entities'];
}
export const MIGRATIONS = [
  InitialSchema1764115200000,
  RoomSilenceIndex1764201600000,
  Notifications1764288000000,
  RetentionIndexes1764374400000,
  Scores1764460800000,
  IdempotencyKeys1764547200000,
  GroupRelays1764633600000,
  RoomsJsonWider1764720000000,
  Battles1764806400000,
  Matchmaking1764979200000,
  GaleraSupport1765065600000,
  WebhookTraceparent1765152000000,
];

/**
 * The options of the app, the CLI (ormconfig.ts) and the specs alike, so that what `schema:log`
 * compares is what the app runs with. Migrations are listed as classes, so the same options work
 * from ts-node, jest and dist/. Asynchronous because on a MySQL-protocol URL it asks the server
 * what it is (see serverType).
 */
export async function databaseOptions(
  config: AppConfig,
  entities: EntityLists,
): Promise<DataSourceOptions> {
  const common = {
    migrations: MIGRATIONS,
    // Whether to migrate at start; the app does it under a lock (migration.lock.ts), and the
    // CLI runs them on demand.
    migrationsRun: config.migrate,
    synchronize: false,
    logging: ['error' as const],
  };
  if (config.database.kind === 'mysql') {
    const target = parseDatabaseUrl(config.database.url);
    if (typeof target === 'string') throw new Error(`DATABASE_URL: ${target}`);
    // One host: the URL as ever. Several (the nodes of a Galera cluster): every connection of
    // the pool is made by a HostRing, to the current node, and to the next once it fails.
    const [first] = target.hosts;
    const address =
      target.hosts.length === 1
        ? { url: config.database.url }
        : {
            host: first.host,
            port: first.port,
            username: target.user,
            password: target.password,
            database: target.database,
            extra: { stream: new HostRing(target.hosts).socket },
          };
    const connection = {
      connectorPackage: 'mysql2' as const,
      ...address,
      charset: 'utf8mb4_unicode_ci',
      // A unit of work sends its deferred writes with its next statement or its COMMIT in one
      // packet (Database, Sql.later). Every value reaches SQL as a `?` parameter that mysql2
      // escapes, never spliced into the text, so no input can add a statement of its own.
      multipleStatements: true,
      // Times are BIGINT milliseconds: plain numbers are exact far beyond any date we store.
      supportBigNumbers: false,
      bigNumberStrings: false,
    };
    return {
      ...common,
      ...connection,
      type: await serverType(connection, config.database.flavour),
      entities: entities.mysql,
      poolSize: 20,
    };
  }
  const file = config.database.file;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    entities: entities.sqlite,
    database: file,
    enableWAL: true,
    timeout: 5000,
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
    },
  };
}

/**
 * MySQL and MariaDB speak one protocol, so either scheme (mysql://, mariadb://) may name either
 * server, and only the server knows which it is. TypeORM must be told the truth: as 'mysql' it
 * misreads MariaDB's schema (MariaDB reports a NULL default as the text NULL, which TypeORM takes
 * for the string 'NULL', so `schema:log` wants to change every nullable column), and as 'mariadb'
 * it would judge a MySQL server's version by MariaDB's numbering. Hence one short connection to
 * ask, at start. A server that cannot be asked gets the scheme's type: the connection that
 * follows fails too, and is reported where the app and the CLI report connection errors.
 */
async function serverType(
  connection: Omit<MysqlConnectionOptions, 'type'>,
  named: 'mysql' | 'mariadb',
): Promise<'mysql' | 'mariadb'> {
  const probe = new DataSource({ ...connection, type: 'mysql', poolSize: 1 });
  try {
    await probe.initialize();
  } catch {
    return named;
  }
  try {
    const [{ version }] = await probe.query<{ version: string }[]>('SELECT VERSION() AS version');
    return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  } finally {
    await probe.destroy();
  }
}
