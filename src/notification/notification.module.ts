import { Module } from '@nestjs/common';
import { DeadLetterController } from './dead-letter.controller';
import { DeadLetterService } from './dead-letter.service';
import { EventStreamController } from './event-stream.controller';
import { EventStreamHub } from './event-stream.hub';
import { EventStreamService } from './event-stream.service';
import { WebhookDeliveryStore } from './webhook-delivery.store';
import { WebhookDispatcher } from './webhook.dispatcher';
import { WebhookSender } from './webhook.sender';

/** Everything that consumes the event log: webhooks and server-sent event streams. */
@Module({
  controllers: [EventStreamController, DeadLetterController],
  providers: [
    EventStreamHub,
    EventStreamService,
    WebhookDeliveryStore,
    WebhookSender,
    WebhookDispatcher,
    DeadLetterService,
  ],
})
export class NotificationModule {}
