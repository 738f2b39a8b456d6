import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Sweeper } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { RelayService } from './relay.service';

/** Fires the invite, join and duration timers of relays on this node. */
@Injectable()
export class RelayTimerWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sweeper: Sweeper;

  constructor(relays: RelayService, @Inject(APP_CONFIG) config: AppConfig) {
    this.sweeper = new Sweeper(RelayTimerWorker.name, config.timerIntervalMs, (limit) =>
      relays.expireDue(limit),
    );
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.sweeper.stop();
  }
}
