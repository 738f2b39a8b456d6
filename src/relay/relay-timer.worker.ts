import { Inject, Injectable } from '@nestjs/common';
import { SweepingWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { RelayService } from './relay.service';

/** Fires the invite, join and duration timers of relays on this node. */
@Injectable()
export class RelayTimerWorker extends SweepingWorker {
  constructor(
    private readonly relays: RelayService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super(RelayTimerWorker.name, config.timerIntervalMs);
  }

  protected sweep(limit: number): Promise<number> {
    return this.relays.expireDue(limit);
  }
}
