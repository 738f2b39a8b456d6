import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { formatLocalTime } from '../common/time.format';
import { Optional } from '../common/validation';
import { RelayRoomTokenView } from '../relay/relay.dto';
import { Ticket, TICKET_REASONS, TICKET_STATES, TicketReason, TicketState } from './match.machine';

const ID_MESSAGE = '$property must be 1-64 characters of letters, digits, _ . : -';
const ID_DOC = { type: 'string', pattern: IDENTIFIER_PATTERN.source } as const;
const LOCAL_TIME_DOC = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$',
  description: '"YYYY-MM-DD HH:mm:ss" in the server\'s time zone',
} as const;

export class MatchDto {
  @ApiProperty({ ...ID_DOC, example: 'room_a', description: 'your own live room' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  room_id!: string;

  @ApiPropertyOptional({
    ...ID_DOC,
    example: 'default',
    default: 'default',
    description: 'tickets are matched within one pool (a level, a region, a game mode)',
  })
  @Optional()
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  pool?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 5,
    maximum: 600,
    description: 'how long the ticket waits for a partner, seconds (default MATCH_TIMEOUT_S)',
  })
  @Optional()
  @IsInt()
  @Min(5)
  @Max(600)
  timeout_s?: number;
}

export class PoolQuery {
  @ApiPropertyOptional({ ...ID_DOC, example: 'default', default: 'default' })
  @Optional()
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  pool?: string;
}

export class MatchTicketView {
  @ApiProperty({ ...ID_DOC, example: 'match_4c1f' }) match_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'default' }) app_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'room_a' }) room_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'alice', description: "the room's anchor" }) user_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'default' }) pool!: string;
  @ApiProperty({ enum: TICKET_STATES, example: 'waiting' }) state!: TicketState;
  @ApiProperty({
    type: 'string',
    enum: ['', ...TICKET_REASONS],
    example: '',
    description: 'why it stopped waiting without a match; "" otherwise',
  })
  reason!: TicketReason | '';
  @ApiProperty({
    type: 'string',
    pattern: `^(${IDENTIFIER_PATTERN.source.slice(1, -1)})?$`,
    example: '',
    description: 'the relay it was matched into; "" until then',
  })
  relay_id!: string;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-12-04 20:00:00' }) created_at!: string;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-12-04 20:01:00' }) expires_at!: string;
}

/** The answer of a match request: the caller's ticket, and when matched, its tokens. */
export class MatchView extends MatchTicketView {
  @ApiPropertyOptional({
    type: 'integer',
    enum: [1],
    description: 'when matched: the relay is agreed (status 1)',
  })
  relay_status?: number;
  @ApiPropertyOptional({
    description: "when matched: your Qiniu RTC room token for your partner's room",
    example: 'AK:c2lnbg==:eyJhcHBJZCI6ImFwcCJ9',
  })
  relay_token?: string;
  @ApiPropertyOptional({ type: [RelayRoomTokenView], description: 'when matched: your tokens' })
  relay_tokens?: RelayRoomTokenView[];
}

export class PoolView {
  @ApiProperty({ ...ID_DOC, example: 'default' }) pool!: string;
  @ApiProperty({ type: 'integer', minimum: 0, example: 3, description: 'tickets waiting now' })
  waiting!: number;
}

export function toTicketView(t: Ticket): MatchTicketView {
  return {
    match_id: t.matchId,
    app_id: t.appId,
    room_id: t.roomId,
    user_id: t.userId,
    pool: t.pool,
    state: t.state,
    reason: t.reason,
    relay_id: t.relayId,
    created_at: formatLocalTime(t.createdAt) as string,
    expires_at: formatLocalTime(t.expiresAt) as string,
  };
}
