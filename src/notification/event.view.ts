import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { EVENT_TYPES, EventType } from '../common/event-type';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { EventRecord, publicEvent } from '../event-log/event-log.service';
import { EVENT_DATA, EventData } from './event-catalog';

const DATA_CLASSES = Object.values(EVENT_DATA);

/** An event as clients and webhooks receive it (docs/events.md); `data` as its type says. */
@ApiExtraModels(...DATA_CLASSES)
export class EventView {
  @ApiProperty({ type: 'integer', example: 42, description: 'increases over the whole log' })
  id!: number;
  @ApiProperty({
    enum: EVENT_TYPES,
    description: 'relay.room_changed is recorded in relays started with 3 or more rooms only',
  })
  type!: EventType;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'default' }) app_id!: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: '1, 2, 3... within one relay' })
  seq!: number;
  @ApiProperty({ format: 'date-time', example: '2026-11-25T15:00:00.000Z' }) occurred_at!: string;
  @ApiProperty({
    oneOf: DATA_CLASSES.map((c) => ({ $ref: getSchemaPath(c) })),
    description: (Object.keys(EVENT_DATA) as EventType[])
      .map((type) => `${EVENT_DATA[type].name} for ${type}`)
      .join(', '),
  })
  data!: EventData[EventType];
}

export const toEventView = (e: EventRecord): EventView => publicEvent(e) as EventView;
