import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { LiveRoom } from '../live-room/live-room.entity';
import { RelayEvent } from '../event-log/event-log.entity';
import { RelaySession } from '../relay/relay.entity';
import { InitialSchema1764115200000 } from './migrations/1764115200000-initial-schema';
import { RoomSilenceIndex1764201600000 } from './migrations/1764201600000-room-silence-index';
import { Notifications1764288000000 } from './migrations/1764288000000-notifications';
import { WebhookDelivery } from '../notification/webhook-delivery.entity';

export const ENTITIES = [LiveRoom, RelaySession, RelayEvent, WebhookDelivery];
export const MIGRATIONS = [
  InitialSchema1764115200000,
  RoomSilenceIndex1764201600000,
  Notifications1764288000000,
];

/** Migrations are listed as classes, so the same options work from ts-node, jest and dist/. */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: config.migrate,
    synchronize: false,
    logging: ['error' as const],
  };
  if (config.database.kind === 'mysql') {
    return {
      ...common,
      type: config.database.flavour,
      connectorPackage: 'mysql2',
      url: config.database.url,
      charset: 'utf8mb4_unicode_ci',
      // Times are BIGINT milliseconds: plain numbers are exact far beyond any date we store.
      supportBigNumbers: false,
      bigNumberStrings: false,
      poolSize: 20,
    };
  }
  const file = config.database.file;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    enableWAL: true,
    timeout: 5000,
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
    },
  };
}
