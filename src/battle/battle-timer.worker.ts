import { Inject, Injectable } from '@nestjs/common';
import { DueWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { BattleService } from './battle.service';

/** Makes the battles' phase moves that fall due, on this node (any node may get there first). */
@Injectable()
export class BattleTimerWorker extends DueWorker {
  constructor(battles: BattleService, @Inject(APP_CONFIG) config: AppConfig) {
    super(BattleTimerWorker.name, config.timerIntervalMs, (limit) => battles.advanceDue(limit));
  }
}
