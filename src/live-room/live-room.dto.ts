import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsString, MaxLength, MinLength } from 'class-validator';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { LiveRoom } from './live-room.entity';
import { AsSent, Optional } from '../common/validation';
import { CleanText } from '../common/text';

export class CreateRoomDto {
  @ApiProperty({ example: 'Friday night PK', minLength: 1, maxLength: 255 })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  @CleanText()
  title!: string;

  @ApiPropertyOptional({ example: 'Be nice', maxLength: 1024 })
  @Optional()
  @IsString()
  @MaxLength(1024)
  @CleanText()
  notice?: string;

  @ApiPropertyOptional({ example: 'https://example.com/cover.png', maxLength: 1024 })
  @Optional()
  @IsString()
  @MaxLength(1024)
  @CleanText()
  cover_url?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { level: 'gold' },
    description: 'at most 32 keys of 1-64 characters, values up to 1024 characters',
  })
  @Optional()
  @AsSent()
  @IsObject()
  extends?: Record<string, string>;
}

const ID_DOC = { type: 'string', pattern: IDENTIFIER_PATTERN.source } as const;
const UNIX_SECONDS_DOC = {
  type: 'integer',
  minimum: 0,
  description: 'unix seconds, 0 when unset',
} as const;

export class AnchorInfoView {
  @ApiProperty({ ...ID_DOC, example: 'alice' })
  user_id!: string;
}

export class RoomView {
  @ApiProperty({ ...ID_DOC, example: 'room_3f2a9c' }) live_id!: string;
  @ApiProperty({ example: 'Friday night PK' }) title!: string;
  @ApiProperty({ example: '', description: '"" when not set' }) notice!: string;
  @ApiProperty({ example: '', description: '"" when not set' }) cover_url!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { level: 'gold' },
    description: '{} when empty',
  })
  extends!: Record<string, string>;
  @ApiProperty({ ...ID_DOC, example: 'alice' }) anchor_id!: string;
  @ApiProperty({ type: AnchorInfoView }) anchor_info!: AnchorInfoView;
  @ApiProperty({
    type: 'integer',
    enum: [0, 1, 2],
    example: 1,
    description: '0 created, 1 live, 2 stopped',
  })
  live_status!: number;
  @ApiProperty({
    type: 'string',
    pattern: `^$|${IDENTIFIER_PATTERN.source}`,
    example: '',
    description: "the room's non-terminal relay, or empty",
  })
  pk_id!: string;
  @ApiProperty({ ...UNIX_SECONDS_DOC, example: 1764082800 }) start_time!: number;
  @ApiProperty({ ...UNIX_SECONDS_DOC, example: 0 }) end_time!: number;
}

export class HeartbeatView {
  @ApiProperty({ ...ID_DOC, example: 'room_3f2a9c' }) live_id!: string;
  @ApiProperty({ type: 'integer', enum: [1], example: 1, description: 'always 1: live' })
  live_status!: number;
}

const seconds = (ms: number | null) => (ms === null ? 0 : Math.floor(ms / 1000));

export function toRoomView(room: LiveRoom): RoomView {
  return {
    live_id: room.liveId,
    title: room.title,
    notice: room.notice,
    cover_url: room.coverUrl,
    extends: JSON.parse(room.extendsJson) as Record<string, string>,
    anchor_id: room.anchorId,
    anchor_info: { user_id: room.anchorId },
    live_status: room.liveStatus,
    pk_id: room.pkId,
    start_time: seconds(room.startAt),
    end_time: seconds(room.endAt),
  };
}
