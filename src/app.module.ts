import { DynamicModule, Global, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { BattleModule } from './battle/battle.module';
import { RateLimiter } from './auth/rate-limit.guard';
import { ENTITIES } from './app.schema';
import { Clock } from './common/clock';
import { APP_CONFIG, AppConfig } from './config/app.config';
import { DatabaseModule } from './database/database.module';
import { EventLogModule } from './event-log/event-log.module';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { LiveRoomModule } from './live-room/live-room.module';
import { MatchModule } from './match/match.module';
import { NotificationModule } from './notification/notification.module';
import { ObservabilityModule } from './observability/observability.module';
import { RelayModule } from './relay/relay.module';

@Global()
@Module({})
class CoreModule {
  static with(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, Clock, RateLimiter],
      exports: [APP_CONFIG, Clock, RateLimiter],
    };
  }
}

/** Wires the feature modules around one validated configuration. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.with(config),
        DatabaseModule.forRoot(ENTITIES),
        EventLogModule,
        ObservabilityModule,
        AuthModule,
        HealthModule,
        IdempotencyModule,
        LiveRoomModule,
        RelayModule,
        BattleModule,
        MatchModule,
        NotificationModule,
      ],
    };
  }
}
