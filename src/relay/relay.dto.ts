import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsObject, Matches, Max, Min } from 'class-validator';
import { PageQuery } from '../common/page';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { formatLocalTime } from '../common/time.format';
import { RelaySession } from './relay.entity';
import { Optional } from '../common/validation';

const ID_MESSAGE = '$property must be 1-64 characters of letters, digits, _ . : -';
const EXTENDS_DOC = {
  type: 'object',
  additionalProperties: { type: 'string' },
  example: { score_a: '10' },
} as const;

export class StartRelayDto {
  @ApiProperty({ example: 'room_a', description: 'your own live room' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  init_room_id!: string;

  @ApiProperty({ example: 'room_b', description: 'the live room you invite' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  recv_room_id!: string;

  @ApiProperty({ example: 'bob', description: 'the anchor of recv_room_id' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  recv_user_id!: string;

  @ApiPropertyOptional({
    ...EXTENDS_DOC,
    description: 'at most 32 keys; values up to 1024 characters',
  })
  @Optional()
  @IsObject()
  extends?: Record<string, string>;

  @ApiPropertyOptional({
    minimum: 10,
    maximum: 86400,
    description: 'ends the relay that long after it is agreed',
  })
  @Optional()
  @IsInt()
  @Min(10)
  @Max(86400)
  duration_s?: number;

  @ApiPropertyOptional({
    enum: ['auto', 'invite'],
    description: 'auto: agreed at once; invite: waits for accept',
  })
  @Optional()
  @IsIn(['auto', 'invite'])
  mode?: 'auto' | 'invite';
}

export class UpdateExtendsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    example: { score_a: '12', obsolete: null },
    description: 'a string sets the key, null deletes it',
  })
  @IsObject()
  extends!: Record<string, string | null>;
}

export class ListRelaysQuery extends PageQuery {
  @ApiPropertyOptional({ example: '0,1', description: 'comma-separated statuses 0-6' })
  @Optional()
  @Matches(/^[0-6](,[0-6]){0,6}$/, { message: 'status must be comma-separated numbers 0-6' })
  status?: string;

  @ApiPropertyOptional({ enum: ['init', 'recv', 'any'], default: 'any' })
  @Optional()
  @IsIn(['init', 'recv', 'any'])
  role?: 'init' | 'recv' | 'any';
}

export class RelaySessionView {
  @ApiProperty({ description: 'the relay id (seed name)' }) sid!: string;
  @ApiProperty() relay_id!: string;
  @ApiProperty() app_id!: string;
  @ApiProperty() init_user_id!: string;
  @ApiProperty() init_room_id!: string;
  @ApiProperty() recv_room_id!: string;
  @ApiProperty() recv_user_id!: string;
  @ApiProperty({ enum: [0, 1, 2, 3, 4, 5, 6] }) status!: number;
  @ApiProperty({ example: '', description: 'empty until the relay ends' }) stop_reason!: string;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-25 15:00:00' }) start_at!:
    string | null;
  @ApiProperty({ type: String, nullable: true }) stop_at!: string | null;
  @ApiProperty({ type: String, nullable: true }) created_at!: string | null;
  @ApiProperty({ type: String, nullable: true }) updated_at!: string | null;
  @ApiProperty({ type: Number, nullable: true }) duration_s!: number | null;
  @ApiProperty(EXTENDS_DOC) extends!: Record<string, string>;
}

export class RelayTokenView {
  @ApiProperty() relay_id!: string;
  @ApiProperty({ enum: [0, 1, 2, 3, 4, 5, 6] }) relay_status!: number;
  @ApiProperty({ description: 'Qiniu RTC room token for the other room; empty while waiting' })
  relay_token!: string;
}

export class RelayStatusView {
  @ApiProperty() relay_id!: string;
  @ApiProperty({ enum: [0, 1, 2, 3, 4, 5, 6] }) relay_status!: number;
}

export class RelayExtendsView {
  @ApiProperty() relay_id!: string;
  @ApiProperty(EXTENDS_DOC) extends!: Record<string, string>;
}

export class RelayListView {
  @ApiProperty({ type: [RelaySessionView] }) list!: RelaySessionView[];
  @ApiProperty({ type: String, nullable: true }) next_cursor!: string | null;
}

export function toRelayView(s: RelaySession): RelaySessionView {
  return {
    sid: s.relayId,
    relay_id: s.relayId,
    app_id: s.appId,
    init_user_id: s.initUserId,
    init_room_id: s.initRoomId,
    recv_room_id: s.recvRoomId,
    recv_user_id: s.recvUserId,
    status: s.status,
    stop_reason: s.stopReason,
    start_at: formatLocalTime(s.startAt),
    stop_at: formatLocalTime(s.stopAt),
    created_at: formatLocalTime(s.createdAt),
    updated_at: formatLocalTime(s.updatedAt),
    duration_s: s.durationS,
    extends: JSON.parse(s.extendsJson) as Record<string, string>,
  };
}
