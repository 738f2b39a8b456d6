import { Module } from '@nestjs/common';
import { RelayModule } from '../relay/relay.module';
import { BattleController } from './battle.controller';
import { BattleTimerWorker } from './battle-timer.worker';
import { BattleService } from './battle.service';
import { BattleStore } from './battle.store';
import { ContributionStore } from './contribution.store';
import { ServerBattleController } from './server-battle.controller';

/** Battles (PK rounds inside a relay) and contributions, reached by the relay through RelayBattles. */
@Module({
  imports: [RelayModule],
  controllers: [BattleController, ServerBattleController],
  providers: [BattleService, BattleStore, ContributionStore, BattleTimerWorker],
})
export class BattleModule {}
