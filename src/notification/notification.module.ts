import { Module } from '@nestjs/common';
import { LiveRoomModule } from '../live-room/live-room.module';
import { RelayModule } from '../relay/relay.module';
import { DeadLetterController } from './dead-letter.controller';
import { DeadLetterService } from './dead-letter.service';
import { EventHistoryController } from './event-history.controller';
import { EventHistoryService } from './event-history.service';
import { EventStreamController } from './event-stream.controller';
import { EventStreamHub } from './event-stream.hub';
import { EventStreamService } from './event-stream.service';
import { WebhookDeliveryStore } from './webhook-delivery.store';
import { WebhookDispatcher } from './webhook.dispatcher';
import { WebhookSender } from './webhook.sender';

/** Everything that reads the event log: webhooks, server-sent event streams, relay histories. */
@Module({
  imports: [RelayModule, LiveRoomModule],
  controllers: [EventStreamController, DeadLetterController, EventHistoryController],
  providers: [
    EventStreamHub,
    EventStreamService,
    EventHistoryService,
    WebhookDeliveryStore,
    WebhookSender,
    WebhookDispatcher,
    DeadLetterService,
  ],
})
export class NotificationModule {}
