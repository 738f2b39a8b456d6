import { Module } from '@nestjs/common';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { IdempotencyStore } from '../idempotency/idempotency.store';
import { LiveRoomModule } from '../live-room/live-room.module';
import { RelayController } from './relay.controller';
import { RelayTimerWorker } from './relay-timer.worker';
import { RelayService } from './relay.service';
import { RelayStore } from './relay.store';
import { ServerRelayController } from './server-relay.controller';

@Module({
  imports: [LiveRoomModule],
  controllers: [RelayController, ServerRelayController],
  providers: [RelayService, RelayStore, RelayTimerWorker, IdempotencyService, IdempotencyStore],
})
export class RelayModule {}
