import { Inject, Injectable } from '@nestjs/common';
import { DueWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { MatchService } from './match.service';

/** Times out the tickets that stopped waiting by their expiry, on this node. */
@Injectable()
export class MatchTimerWorker extends DueWorker {
  constructor(matches: MatchService, @Inject(APP_CONFIG) config: AppConfig) {
    super(MatchTimerWorker.name, config.timerIntervalMs, (limit) => matches.expireDue(limit));
  }
}
