import { Module } from '@nestjs/common';
import { LiveRoomModule } from '../live-room/live-room.module';
import { RelayModule } from '../relay/relay.module';
import { MatchController } from './match.controller';
import { MatchTimerWorker } from './match-timer.worker';
import { MatchService } from './match.service';
import { MatchStore } from './match.store';

/** Random PK: tickets in pools, matched into relays opened through the relay's start path. */
@Module({
  imports: [LiveRoomModule, RelayModule],
  controllers: [MatchController],
  providers: [MatchService, MatchStore, MatchTimerWorker],
})
export class MatchModule {}
