import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { PageQuery } from '../common/page';
import { Optional } from '../common/validation';
import { publicEvent } from '../event-log/event-log.service';
import { DeliveryStatus } from './webhook-delivery.entity';
import { DeliveryWithEvent } from './webhook-delivery.store';

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['failed', 'pending', 'delivered'], default: 'failed' })
  @Optional()
  @IsIn(['failed', 'pending', 'delivered'])
  status?: DeliveryStatus;
}

export class EventView {
  @ApiProperty() id!: number;
  @ApiProperty({ example: 'relay.status_changed' }) type!: string;
  @ApiProperty() relay_id!: string;
  @ApiProperty() app_id!: string;
  @ApiProperty({ description: '1, 2, 3... within one relay' }) seq!: number;
  @ApiProperty({ example: '2026-11-25T15:00:00.000Z' }) occurred_at!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data!: unknown;
}

export class DeliveryView {
  @ApiProperty({ description: 'the delivery: one event to one URL' }) id!: number;
  @ApiProperty() event_id!: number;
  @ApiProperty() url!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty() last_error!: string;
  @ApiProperty({ enum: ['failed', 'pending', 'delivered'] }) status!: DeliveryStatus;
  @ApiProperty({ type: EventView }) event!: EventView;
}

export class DeliveryListView {
  @ApiProperty({ type: [DeliveryView] }) list!: DeliveryView[];
  @ApiProperty({ type: String, nullable: true }) next_cursor!: string | null;
}

export function toDeliveryView(d: DeliveryWithEvent): DeliveryView {
  return {
    id: d.id,
    event_id: d.event.id,
    url: d.url,
    attempts: d.attempts,
    last_error: d.lastError,
    status: d.status,
    event: publicEvent(d.event) as EventView,
  };
}
