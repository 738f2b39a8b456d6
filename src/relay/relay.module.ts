import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { LiveRoomModule } from '../live-room/live-room.module';
import { RelayController } from './relay.controller';
import { RelayMetrics } from './relay.metrics';
import { RelayTimerWorker } from './relay-timer.worker';
import { RelayService } from './relay.service';
import { RelayStore } from './relay.store';
import { ServerRelayController } from './server-relay.controller';

@Module({
  imports: [LiveRoomModule, IdempotencyModule],
  controllers: [RelayController, ServerRelayController],
  providers: [RelayService, RelayStore, RelayTimerWorker, RelayMetrics],
  exports: [RelayService],
})
export class RelayModule {}
