import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { Optional } from '../common/validation';

export class StreamQuery {
  @ApiPropertyOptional({
    pattern: IDENTIFIER_PATTERN.source,
    description: "a room's events, for its audience; default: your own sessions' events",
  })
  @Optional()
  @Matches(IDENTIFIER_PATTERN, {
    message: 'room_id must be 1-64 characters of letters, digits, _ . : -',
  })
  room_id?: string;

  @ApiPropertyOptional({
    pattern: '^\\d{1,16}$',
    description: 'resume after this event id (or send the Last-Event-ID header)',
  })
  @Optional()
  @Matches(/^\d{1,16}$/, { message: 'last_event_id must be an event id' })
  last_event_id?: string;

  @ApiPropertyOptional({
    description: 'the client token, for EventSource, which cannot set headers',
  })
  @Optional()
  @IsString()
  access_token?: string;
}
