import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { PageQuery } from '../common/page';
import { Optional } from '../common/validation';
import { EventView, toEventView } from './event.view';
import { DeliveryStatus } from './webhook-delivery.entity';
import { Delivery } from './webhook-delivery.store';
import { EventRecord } from '../event-log/event-log.service';

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['failed', 'pending', 'delivered'], default: 'failed' })
  @Optional()
  @IsIn(['failed', 'pending', 'delivered'])
  status?: DeliveryStatus;
}

export class DeliveryView {
  @ApiProperty({
    type: 'integer',
    example: 7,
    description:
      'the delivery id (a delivery is one event to one URL): the `delivery_id` of ' +
      'POST /server/events/{delivery_id}/redeliver',
  })
  id!: number;
  @ApiProperty({
    type: 'integer',
    example: 42,
    description: 'the id of the event delivered (`event.id`), not a delivery id',
  })
  event_id!: number;
  @ApiProperty({ example: 'https://hooks.example.com/relay' }) url!: string;
  @ApiProperty({ type: 'integer', minimum: 0, example: 10 }) attempts!: number;
  @ApiProperty({ example: 'HTTP 503', description: '"" when none' }) last_error!: string;
  @ApiProperty({ enum: ['failed', 'pending', 'delivered'] }) status!: DeliveryStatus;
  @ApiProperty({ type: EventView }) event!: EventView;
}

export class DeliveryListView {
  @ApiProperty({ type: [DeliveryView] }) list!: DeliveryView[];
  @ApiProperty({
    type: String,
    nullable: true,
    pattern: '^[1-9]\\d{0,15}$',
    example: null,
    description: 'pass as ?cursor= for the next page; null on the last page',
  })
  next_cursor!: string | null;
}

export function toDeliveryView(d: Delivery, event: EventRecord): DeliveryView {
  return {
    id: d.id,
    event_id: d.eventId,
    url: d.url,
    attempts: d.attempts,
    last_error: d.lastError,
    status: d.status,
    event: toEventView(event),
  };
}
