import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { Matches } from 'class-validator';
import { PageQuery } from '../common/page';
import { Optional } from '../common/validation';
import { EventView } from './event.view';

/** GET /client/relay/{relay_id}/events: `limit` as every list, `after` an event id. */
export class RelayEventsQuery extends PickType(PageQuery, ['limit'] as const) {
  @ApiPropertyOptional({
    pattern: '^([1-9]\\d{0,15})?$',
    description:
      'an event id (next_cursor of the previous page): events after it; empty for the first',
  })
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @Optional()
  @Matches(/^[1-9]\d{0,15}$/, { message: 'after must be an event id' })
  after?: string;
}

export class RelayEventListView {
  @ApiProperty({ type: [EventView], description: "the relay's events in seq order" })
  list!: EventView[];
  @ApiProperty({
    type: String,
    nullable: true,
    pattern: '^[1-9]\\d{0,15}$',
    example: null,
    description: 'pass as ?after= for the next page; null on the last page',
  })
  next_cursor!: string | null;
}
