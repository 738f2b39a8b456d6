import { ApiExtraModels, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { nullableRef } from '../common/api-envelope.decorator';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { badRequest } from '../common/domain.error';
import { PageQuery } from '../common/page';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { formatLocalTime } from '../common/time.format';
import { AsSent, Optional } from '../common/validation';
import { RelayStatus, ROOM_REASONS, ROOM_STATES, STOP_REASONS } from './relay.machine';
import { MAX_DELTA, MAX_SCORE, SCORE_LIMIT, Scores, winnerOf } from './relay.score';
import { BattleScores } from './relay-battles';
import { NewestBattle, Relay, RELAY_ORIGINS, RelayOrigin } from './relay.store';

const ID_MESSAGE = '$property must be 1-64 characters of letters, digits, _ . : -';
const EXTENDS_DOC = {
  type: 'object',
  additionalProperties: { type: 'string' },
  example: { score_a: '10' },
} as const;

/** Most receivers of one relay: nine rooms with the initiator's. */
const MAX_RECEIVERS = 8;

export class RecvRoomDto {
  @ApiProperty({
    example: 'room_c',
    pattern: IDENTIFIER_PATTERN.source,
    description: 'a live room',
  })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  room_id!: string;

  @ApiProperty({ example: 'carol', pattern: IDENTIFIER_PATTERN.source, description: 'its anchor' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  user_id!: string;
}

/** The receivers come as one room (`recv_room_id`, `recv_user_id`) or as a list (`recv_rooms`). */
const classicForm = (o: StartRelayDto) => o.recv_rooms === undefined;

export class StartRelayDto {
  @ApiProperty({
    example: 'room_a',
    pattern: IDENTIFIER_PATTERN.source,
    description: 'your own live room',
  })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  init_room_id!: string;

  @ApiPropertyOptional({
    example: 'room_b',
    pattern: IDENTIFIER_PATTERN.source,
    description: 'the live room you invite; required unless recv_rooms is given',
  })
  @ValidateIf(classicForm)
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  recv_room_id?: string;

  @ApiPropertyOptional({
    example: 'bob',
    pattern: IDENTIFIER_PATTERN.source,
    description: 'the anchor of recv_room_id; required unless recv_rooms is given',
  })
  @ValidateIf(classicForm)
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  recv_user_id?: string;

  @ApiPropertyOptional({
    type: [RecvRoomDto],
    minItems: 1,
    maxItems: MAX_RECEIVERS,
    description:
      'a group relay: the rooms you invite and their anchors, 1-8, in place of recv_room_id ' +
      'and recv_user_id (one entry is the same as those two)',
  })
  @Optional()
  @IsArray({ message: '$property must be a list of {room_id, user_id}' })
  @IsObject({ each: true, message: '$property must be a list of {room_id, user_id}' })
  @ArrayMinSize(1, { message: `$property must list 1 to ${MAX_RECEIVERS} rooms` })
  @ArrayMaxSize(MAX_RECEIVERS, { message: `$property must list 1 to ${MAX_RECEIVERS} rooms` })
  @ValidateNested({ each: true })
  @Type(() => RecvRoomDto)
  recv_rooms?: RecvRoomDto[];

  @ApiPropertyOptional({
    ...EXTENDS_DOC,
    description: 'at most 32 keys; values up to 1024 characters',
  })
  @Optional()
  @AsSent()
  @IsObject()
  extends?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'integer',
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

/** POST /server/relay/start: the client start's body, and the app whose relay it is. */
export class ServerStartRelayDto extends StartRelayDto {
  @ApiProperty({ example: 'default', pattern: IDENTIFIER_PATTERN.source, description: 'the app' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  app_id!: string;

  @ApiPropertyOptional({
    enum: ['auto', 'invite'],
    default: 'auto',
    description: 'auto (the default here): agreed at once; invite: waits for accept',
  })
  @Optional()
  @IsIn(['auto', 'invite'])
  declare mode?: 'auto' | 'invite';
}

/**
 * The receivers of a start request in order, after the checks the body alone decides (400):
 * one form or the other; no room twice, none the initiator's; no anchor twice, none the caller
 * (when a client anchor asks).
 */
export function receiversOf(
  dto: StartRelayDto,
  callerId: string | null,
): { roomId: string; userId: string }[] {
  if (dto.recv_rooms === undefined) {
    if (dto.init_room_id === dto.recv_room_id) {
      throw badRequest('init_room_id and recv_room_id must differ');
    }
    if (dto.recv_user_id === callerId)
      throw badRequest('recv_user_id must be another anchor than you');
    return [{ roomId: dto.recv_room_id as string, userId: dto.recv_user_id as string }];
  }
  if (dto.recv_room_id !== undefined || dto.recv_user_id !== undefined) {
    throw badRequest('give recv_rooms or recv_room_id and recv_user_id, not both');
  }
  const rooms = new Set([dto.init_room_id]);
  const users = new Set([callerId]);
  return dto.recv_rooms.map((r, i) => {
    if (r.room_id === dto.init_room_id) {
      throw badRequest(`recv_rooms.${i}.room_id must differ from init_room_id`);
    }
    if (rooms.has(r.room_id))
      throw badRequest(`recv_rooms.${i}.room_id ${r.room_id} is given twice`);
    if (r.user_id === callerId) {
      throw badRequest(`recv_rooms.${i}.user_id must be another anchor than you`);
    }
    if (users.has(r.user_id)) {
      throw badRequest(
        `recv_rooms.${i}.user_id ${r.user_id} is given twice: an anchor takes part with one room`,
      );
    }
    rooms.add(r.room_id);
    users.add(r.user_id);
    return { roomId: r.room_id, userId: r.user_id };
  });
}

export class UpdateExtendsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    example: { score_a: '12', obsolete: null },
    description: 'a string sets the key, null deletes it',
  })
  @AsSent()
  @IsObject()
  extends!: Record<string, string | null>;
}

export class ScoreDto {
  @ApiProperty({
    example: 'room_a',
    pattern: IDENTIFIER_PATTERN.source,
    description: 'the room whose score changes: a room of this relay',
  })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  room_id!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: -MAX_DELTA,
    maximum: MAX_DELTA,
    not: { enum: [0] },
    example: 5,
    description: "added to the room's score; not 0. Give exactly one of delta and score",
  })
  @Optional()
  @IsInt()
  delta?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_SCORE,
    description: "replaces the room's score. Give exactly one of delta and score",
  })
  @Optional()
  @IsInt()
  score?: number;

  @ApiPropertyOptional({
    example: 'gift_20261125_0001',
    pattern: IDENTIFIER_PATTERN.source,
    description:
      'your id of the gift: a later request with the same score_id on this relay changes ' +
      'nothing and answers duplicate: true',
  })
  @Optional()
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  score_id?: string;

  @ApiPropertyOptional({
    example: 'fan_42',
    pattern: IDENTIFIER_PATTERN.source,
    description:
      'the audience member whose gift it is, only with a positive delta: it adds to their ' +
      'contribution to the room, in the relay and in the battle in play',
  })
  @Optional()
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  user_id?: string;
}

/** The statuses filter of the list endpoints: comma-separated statuses 0-6. */
export class StatusFilterQuery extends PageQuery {
  @ApiPropertyOptional({
    example: '0,1',
    pattern: '^[0-6](,[0-6]){0,6}$',
    description: 'comma-separated statuses 0-6',
  })
  @Optional()
  @Matches(/^[0-6](,[0-6]){0,6}$/, { message: 'status must be comma-separated numbers 0-6' })
  status?: string;
}

/** GET /server/relay: the app's relays that include a room. */
export class ServerListRelaysQuery extends StatusFilterQuery {
  @ApiProperty({ example: 'default', pattern: IDENTIFIER_PATTERN.source })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  app_id!: string;

  @ApiProperty({ example: 'room_a', pattern: IDENTIFIER_PATTERN.source, description: 'a room' })
  @Matches(IDENTIFIER_PATTERN, { message: ID_MESSAGE })
  room_id!: string;
}

export class ListRelaysQuery extends StatusFilterQuery {
  @ApiPropertyOptional({ enum: ['init', 'recv', 'any'], default: 'any' })
  @Optional()
  @IsIn(['init', 'recv', 'any'])
  role?: 'init' | 'recv' | 'any';
}

/** Identifiers as the service stores them (docs/api.md, "Envelope and errors"). */
const ID_DOC = { type: 'string', pattern: IDENTIFIER_PATTERN.source } as const;
const STATUS_DOC = {
  type: 'integer',
  enum: [0, 1, 2, 3, 4, 5, 6],
  description:
    '0 waiting, 1 agreed, 2 initiator joined, 3 receiver joined, 4 both, 5 rejected, 6 ended',
} as const;
const SCORES_DOC = {
  type: 'object',
  additionalProperties: { type: 'integer', minimum: -SCORE_LIMIT, maximum: SCORE_LIMIT },
  example: { room_a: 12, room_b: 7 },
  description: 'every room of the relay and its score; each starts at 0',
} as const;
const LOCAL_TIME_DOC = {
  type: 'string',
  nullable: true,
  pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$',
  description: '"YYYY-MM-DD HH:mm:ss" in the server\'s time zone, or null',
} as const;
const CURSOR_DOC = {
  type: 'string',
  nullable: true,
  pattern: '^[1-9]\\d{0,15}$',
  description: 'pass as ?cursor= for the next page; null on the last page',
} as const;

export class RelayRoomView {
  @ApiProperty({ ...ID_DOC, example: 'room_b' }) room_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'bob', description: "the room's anchor" }) user_id!: string;
  @ApiProperty({ enum: ['init', 'recv'], example: 'recv' }) role!: 'init' | 'recv';
  @ApiProperty({
    enum: ROOM_STATES,
    example: 'agreed',
    description:
      'invited, agreed and joined rooms are in the relay; rejected and left ones are not',
  })
  state!: string;
  @ApiProperty({
    type: 'string',
    enum: ['', ...ROOM_REASONS],
    example: '',
    description: 'why the room became rejected or left; "" otherwise',
  })
  reason!: string;
}

export class RelayRoomTokenView {
  @ApiProperty({ ...ID_DOC, example: 'room_b' }) room_id!: string;
  @ApiProperty({
    description: 'Qiniu RTC room token for that room',
    example: 'AK:c2lnbg==:eyJhcHBJZCI6ImFwcCJ9',
  })
  relay_token!: string;
}

export class RelaySessionView {
  @ApiProperty({ ...ID_DOC, description: 'the relay id (seed name)', example: 'relay_8c1d2e' })
  sid!: string;
  @ApiProperty({ ...ID_DOC, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'default' }) app_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'alice' }) init_user_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'room_a' }) init_room_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'room_b', description: 'the (first) receiver room' })
  recv_room_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'bob', description: 'its anchor' }) recv_user_id!: string;
  @ApiProperty({
    type: [RelayRoomView],
    minItems: 2,
    maxItems: MAX_RECEIVERS + 1,
    description: "every room of the relay: the initiator's first, then the receivers in order",
  })
  rooms!: RelayRoomView[];
  @ApiProperty({ ...STATUS_DOC, example: 1 }) status!: number;
  @ApiProperty({
    type: 'string',
    enum: ['', ...STOP_REASONS],
    example: '',
    description: 'empty until the relay ends',
  })
  stop_reason!: string;
  @ApiProperty({
    ...LOCAL_TIME_DOC,
    example: '2026-11-25 15:00:00',
    description: 'when it was agreed (status 1); null before',
  })
  start_at!: string | null;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: null, description: 'when it reached 5 or 6' })
  stop_at!: string | null;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-11-25 14:59:58' }) created_at!: string | null;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-11-25 15:00:00' }) updated_at!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, minimum: 10, maximum: 86400, example: null })
  duration_s!: number | null;
  @ApiProperty({ ...EXTENDS_DOC, description: '{} when empty' }) extends!: Record<string, string>;
  @ApiProperty(SCORES_DOC) scores!: Scores;
  @ApiProperty({
    type: 'string',
    pattern: `^(${IDENTIFIER_PATTERN.source.slice(1, -1)})?$`,
    example: '',
    description:
      '"" until the relay ends (5 or 6); then the room with the strictly highest score, ' +
      'or "" when rooms share it',
  })
  winner_room_id!: string;
  @ApiProperty({
    ...nullableRef('BattleView'),
    description: "the relay's newest battle (its PK rounds), or null before the first",
  })
  battle!: NewestBattle | null;
  @ApiProperty({
    enum: RELAY_ORIGINS,
    example: 'invite',
    description:
      'who started it: invite (an anchor), match (random matchmaking), server (your backend)',
  })
  origin!: RelayOrigin;
}

export class RelayTokenView {
  @ApiProperty({ ...ID_DOC, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ ...STATUS_DOC, example: 1 }) relay_status!: number;
  @ApiProperty({
    description:
      'Qiniu RTC room token for the other room (the first of relay_tokens); empty while waiting ' +
      '(status 0)',
    example: 'AK:c2lnbg==:eyJhcHBJZCI6ImFwcCJ9',
  })
  relay_token!: string;
  @ApiProperty({
    type: [RelayRoomTokenView],
    description: 'a token for each other room that is agreed or joined, in the order of rooms',
  })
  relay_tokens!: RelayRoomTokenView[];
}

export class RelayStatusView {
  @ApiProperty({ ...ID_DOC, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ ...STATUS_DOC, example: 2 }) relay_status!: number;
}

export class RelayExtendsView {
  @ApiProperty({ ...ID_DOC, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ ...EXTENDS_DOC, description: 'the merged map' }) extends!: Record<string, string>;
}

/** The battle a score change counted for (docs/concepts.md, "Scores in play"). */
export class BattleScoresView implements BattleScores {
  @ApiProperty({ type: 'integer', minimum: 1, example: 2 }) battle_no!: number;
  @ApiProperty({
    ...SCORES_DOC,
    example: { room_a: 30, room_b: 12 },
    description: 'every room of the battle and its battle score (what the fight added)',
  })
  scores!: Scores;
}

@ApiExtraModels(BattleScoresView)
export class ScoreView {
  @ApiProperty({ ...ID_DOC, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ ...SCORES_DOC, description: 'the scores after this request' }) scores!: Scores;
  @ApiProperty({
    example: false,
    description: 'true when the score_id was used before: nothing changed',
  })
  duplicate!: boolean;
  @ApiProperty({
    ...nullableRef(BattleScoresView),
    description:
      'the battle in play (fighting, before its fight_end_at) that the change counted for too, ' +
      'with its scores after it; null when none',
  })
  battle!: BattleScoresView | null;
}

export class RelayListView {
  @ApiProperty({ type: [RelaySessionView] }) list!: RelaySessionView[];
  @ApiProperty({ ...CURSOR_DOC, example: '1234' }) next_cursor!: string | null;
}

export function toRelayView(s: Relay): RelaySessionView {
  return {
    sid: s.relayId,
    relay_id: s.relayId,
    app_id: s.appId,
    init_user_id: s.initUserId,
    init_room_id: s.initRoomId,
    recv_room_id: s.recvRoomId,
    recv_user_id: s.recvUserId,
    rooms: s.rooms.map((r) => ({
      room_id: r.roomId,
      user_id: r.userId,
      role: r.role,
      state: r.state,
      reason: r.reason,
    })),
    status: s.status,
    stop_reason: s.stopReason,
    start_at: formatLocalTime(s.startAt),
    stop_at: formatLocalTime(s.stopAt),
    created_at: formatLocalTime(s.createdAt),
    updated_at: formatLocalTime(s.updatedAt),
    duration_s: s.durationS,
    extends: s.extends,
    scores: s.scores,
    winner_room_id: winnerOf(s.status, s.scores),
    battle: s.battle,
    origin: s.origin,
  };
}

/** The statuses a list asks for, each once; none: every status. */
export const statusesOf = (query: StatusFilterQuery): RelayStatus[] =>
  query.status ? [...new Set(query.status.split(',').map(Number))] : [];
