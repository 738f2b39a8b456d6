import { Inject, Injectable } from '@nestjs/common';
import { DueWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { RelayService } from './relay.service';

/** Fires the invite, join and duration timers of relays on this node. */
@Injectable()
export class RelayTimerWorker extends DueWorker {
  constructor(relays: RelayService, @Inject(APP_CONFIG) config: AppConfig) {
    super(RelayTimerWorker.name, config.timerIntervalMs, (limit) => relays.expireDue(limit));
  }
}
