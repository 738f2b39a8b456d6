import { Inject, Injectable } from '@nestjs/common';
import { SweepingWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { MatchService } from './match.service';

/** Times out the tickets that stopped waiting by their expiry, on this node. */
@Injectable()
export class MatchTimerWorker extends SweepingWorker {
  constructor(
    private readonly matches: MatchService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super(MatchTimerWorker.name, config.timerIntervalMs);
  }

  protected sweep(limit: number): Promise<number> {
    return this.matches.expireDue(limit);
  }
}
