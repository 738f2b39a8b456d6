import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { PageQuery } from '../common/page';
import { EVENT_TYPES } from '../config/app.config';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { Optional } from '../common/validation';
import { RelaySessionView } from '../relay/relay.dto';
import { ROOM_REASONS, ROOM_STATES, STOP_REASONS } from '../relay/relay.machine';
import { publicEvent } from '../event-log/event-log.service';
import { DeliveryStatus } from './webhook-delivery.entity';
import { DeliveryWithEvent } from './webhook-delivery.store';

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['failed', 'pending', 'delivered'], default: 'failed' })
  @Optional()
  @IsIn(['failed', 'pending', 'delivered'])
  status?: DeliveryStatus;
}

export class StatusChangedData {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 6,
    example: 0,
    description: 'null for the event that creates the session',
  })
  from!: number | null;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 6, example: 1 }) to!: number;
  @ApiProperty({
    enum: ['', ...STOP_REASONS],
    example: '',
    description: 'the stop_reason on a move to 5 or 6, else ""',
  })
  reason!: string;
  @ApiProperty({ type: RelaySessionView, description: 'the session after the change' })
  session!: RelaySessionView;
}

export class RoomChangedData {
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'room_c' }) room_id!: string;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'carol', description: 'its anchor' })
  user_id!: string;
  @ApiProperty({ enum: ROOM_STATES, example: 'agreed' }) from!: string;
  @ApiProperty({ enum: ROOM_STATES, example: 'left' }) to!: string;
  @ApiProperty({
    enum: ['', ...ROOM_REASONS],
    example: 'stopped',
    description: 'why the room became rejected or left, else ""',
  })
  reason!: string;
  @ApiProperty({
    type: RelaySessionView,
    description: 'the session right after this room moved, before any status change it causes',
  })
  session!: RelaySessionView;
}

export class ExtendsUpdatedData {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    example: { score_a: '12', obsolete: null },
    description: 'the keys that changed: a string was set, null was deleted',
  })
  changed!: Record<string, string | null>;
  @ApiProperty({ type: RelaySessionView, description: 'the session after the change' })
  session!: RelaySessionView;
}

export class ScoreChangedData {
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'room_a' }) room_id!: string;
  @ApiProperty({
    type: 'integer',
    example: 5,
    description: 'new score - old score, also when the request replaced the score',
  })
  delta!: number;
  @ApiProperty({
    pattern: `^(${IDENTIFIER_PATTERN.source.slice(1, -1)})?$`,
    example: 'gift_20261125_0001',
    description: 'the score_id of the request, "" when it had none',
  })
  score_id!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { room_a: 12, room_b: 7 },
    description: 'every room of the relay and its score after the change',
  })
  scores!: Record<string, number>;
  @ApiProperty({ type: RelaySessionView, description: 'the session after the change' })
  session!: RelaySessionView;
}

@ApiExtraModels(StatusChangedData, RoomChangedData, ExtendsUpdatedData, ScoreChangedData)
export class EventView {
  @ApiProperty({ type: 'integer', example: 42, description: 'increases over the whole log' })
  id!: number;
  @ApiProperty({
    enum: EVENT_TYPES,
    description: 'relay.room_changed is recorded in relays started with 3 or more rooms only',
  })
  type!: string;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'default' }) app_id!: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: '1, 2, 3... within one relay' })
  seq!: number;
  @ApiProperty({ format: 'date-time', example: '2026-11-25T15:00:00.000Z' }) occurred_at!: string;
  @ApiProperty({
    oneOf: [
      { $ref: getSchemaPath(StatusChangedData) },
      { $ref: getSchemaPath(RoomChangedData) },
      { $ref: getSchemaPath(ExtendsUpdatedData) },
      { $ref: getSchemaPath(ScoreChangedData) },
    ],
    description:
      'StatusChangedData for relay.status_changed, RoomChangedData for relay.room_changed, ' +
      'ExtendsUpdatedData for relay.extends_updated, ScoreChangedData for relay.score_changed',
  })
  data!: StatusChangedData | RoomChangedData | ExtendsUpdatedData | ScoreChangedData;
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
