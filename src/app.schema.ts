import { DataSourceOptions } from 'typeorm';
import { AppConfig } from './config/app.config';
import { databaseOptions, EntityLists } from './database/database.options';
import { MigrationLock } from './database/migration-lock.entity';
import { RelayEvent, SqliteRelayEvent } from './event-log/event-log.entity';
import { IdempotencyKey, SqliteIdempotencyKey } from './idempotency/idempotency-key.entity';
import { RelayBattle, RelayContribution } from './battle/battle.entity';
import { LiveRoom } from './live-room/live-room.entity';
import { MatchPool, MatchTicket } from './match/match.entity';
import { SqliteWebhookDelivery, WebhookDelivery } from './notification/webhook-delivery.entity';
import { RelayMember, RelayScoreId, RelaySession, SqliteRelaySession } from './relay/relay.entity';

export { MIGRATIONS } from './database/database.options';

/** Every table's entity, from the module that owns it; the migrations are what create them. */
export const ENTITIES: EntityLists = {
  mysql: [
    LiveRoom,
    RelaySession,
    RelayEvent,
    WebhookDelivery,
    IdempotencyKey,
    RelayScoreId,
    RelayMember,
    RelayBattle,
    RelayContribution,
    MatchTicket,
    MatchPool,
    MigrationLock,
  ],
  sqlite: [
    LiveRoom,
    SqliteRelaySession,
    SqliteRelayEvent,
    SqliteWebhookDelivery,
    SqliteIdempotencyKey,
    RelayScoreId,
    RelayMember,
    RelayBattle,
    RelayContribution,
    MatchTicket,
    MatchPool,
    MigrationLock,
  ],
};

/**
 * The options of the app, the CLI (ormconfig.ts) and the specs alike, so that what `schema:log`
 * compares is what the app runs with.
 */
export const dataSourceOptions = (config: AppConfig): Promise<DataSourceOptions> =>
  databaseOptions(config, ENTITIES);
