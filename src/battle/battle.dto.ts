import { ApiExtraModels, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { nullableRef } from '../common/api-envelope.decorator';
import { Type } from 'class-transformer';
import { IsIn, IsInt, Matches, Max, Min } from 'class-validator';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { PageQuery } from '../common/page';
import { formatLocalTime } from '../common/time.format';
import { Optional } from '../common/validation';
import {
  Battle,
  BATTLE_PHASES,
  BATTLE_REASONS,
  BATTLE_ROOM_STATES,
  BattlePhase,
  BattleReason,
  BattleRoomState,
  Contributor,
  rankingOf,
} from './battle.machine';

const ID_DOC = { type: 'string', pattern: IDENTIFIER_PATTERN.source } as const;
const LOCAL_TIME_DOC = {
  type: 'string',
  nullable: true,
  pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$',
  description: '"YYYY-MM-DD HH:mm:ss" in the server\'s time zone, or null until known',
} as const;
const SCORES_DOC = {
  type: 'object',
  additionalProperties: { type: 'integer' },
  example: { room_a: 30, room_b: 12 },
} as const;

/** A start's lengths; each left out takes its BATTLE_* setting. */
export class ServerStartBattleDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 10,
    maximum: 3600,
    description: 'how long the fight lasts, seconds (default BATTLE_DURATION_S)',
  })
  @Optional()
  @IsInt()
  @Min(10)
  @Max(3600)
  duration_s?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 60,
    description: 'the countdown before the fight, seconds; 0 skips it (default BATTLE_COUNTDOWN_S)',
  })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(60)
  countdown_s?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 600,
    description:
      "the punishment phase after the fight (the losers' dare), seconds; 0 skips it " +
      '(default BATTLE_PUNISHMENT_S)',
  })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(600)
  punishment_s?: number;
}

export class StartBattleDto extends ServerStartBattleDto {
  @ApiPropertyOptional({
    enum: ['invite', 'auto'],
    default: 'invite',
    description: 'invite: the other rooms accept or reject; auto: it starts at once',
  })
  @Optional()
  @IsIn(['invite', 'auto'])
  mode?: 'invite' | 'auto';
}

export class ListBattlesQuery extends PageQuery {}

export class ContributionsQuery {
  @ApiProperty({ ...ID_DOC, example: 'room_a', description: 'a room of the relay' })
  @Matches(IDENTIFIER_PATTERN, {
    message: 'room_id must be 1-64 characters of letters, digits, _ . : -',
  })
  room_id!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'a battle of the relay; without it, the whole relay',
  })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: 'battle_no must be a battle number' })
  @Min(1, { message: 'battle_no must be a battle number' })
  battle_no?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @Optional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    pattern: '^[A-Za-z0-9_-]{1,200}$',
    description: 'next_cursor of the previous page; leave it out for the first',
  })
  @Optional()
  @Matches(/^[A-Za-z0-9_-]{1,200}$/, {
    message: 'cursor must be a next_cursor this API returned',
  })
  cursor?: string;
}

export class BattleRoomView {
  @ApiProperty({ ...ID_DOC, example: 'room_b' }) room_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'bob', description: "the room's anchor" }) user_id!: string;
  @ApiProperty({
    enum: BATTLE_ROOM_STATES,
    example: 'agreed',
    description: 'invited (not yet answered), agreed (takes part) or rejected (takes no part)',
  })
  state!: BattleRoomState;
  @ApiProperty({
    type: 'integer',
    example: 12,
    description: "the room's battle score: what the fight added to it",
  })
  score!: number;
}

export class RankingEntryView {
  @ApiProperty({ ...ID_DOC, example: 'room_a' }) room_id!: string;
  @ApiProperty({ type: 'integer', example: 30 }) score!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 1,
    description: 'ties share a rank: 1, 1, 3',
  })
  rank!: number;
}

export class MvpView {
  @ApiProperty({ ...ID_DOC, example: 'room_a', description: 'the winning room' })
  room_id!: string;
  @ApiProperty({ ...ID_DOC, example: 'fan_42', description: 'its top contributor' })
  user_id!: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 500, description: 'what they gave' })
  amount!: number;
}

@ApiExtraModels(MvpView)
export class BattleView {
  @ApiProperty({ ...ID_DOC, example: 'relay_8c1d2e' }) relay_id!: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1, description: '1, 2, 3... in the relay' })
  battle_no!: number;
  @ApiProperty({ enum: BATTLE_PHASES, example: 'fighting' }) phase!: BattlePhase;
  @ApiProperty({
    type: 'string',
    enum: ['', ...BATTLE_REASONS],
    example: '',
    description: 'why it ended; "" until then',
  })
  reason!: BattleReason | '';
  @ApiProperty({ enum: ['invite', 'auto'], example: 'invite' }) mode!: 'invite' | 'auto';
  @ApiProperty({
    type: [BattleRoomView],
    minItems: 2,
    maxItems: 9,
    description: "the starter's room first, then the others in the relay's order",
  })
  rooms!: BattleRoomView[];
  @ApiProperty({ ...SCORES_DOC, description: 'every room of the battle and its battle score' })
  scores!: Record<string, number>;
  @ApiProperty({
    type: [RankingEntryView],
    description:
      'the rooms taking part by score, highest first; live while fighting, frozen once settled',
  })
  ranking!: RankingEntryView[];
  @ApiProperty({
    ...ID_DOC,
    pattern: `^(${IDENTIFIER_PATTERN.source.slice(1, -1)})?$`,
    example: '',
    description:
      '"" until the fight is settled; then the room with the strictly highest score, or "" on a tie',
  })
  winner_room_id!: string;
  @ApiProperty({
    ...nullableRef(MvpView),
    description: 'the top contributor of the winning room in this battle, once settled; else null',
  })
  mvp!: MvpView | null;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 60, example: 3 }) countdown_s!: number;
  @ApiProperty({ type: 'integer', minimum: 10, maximum: 3600, example: 300 }) duration_s!: number;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 600, example: 0 }) punishment_s!: number;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-12-04 20:00:00' }) created_at!: string | null;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-12-04 20:00:03' })
  fight_start_at!: string | null;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: '2026-12-04 20:05:03' }) fight_end_at!: string | null;
  @ApiProperty({ ...LOCAL_TIME_DOC, example: null }) ended_at!: string | null;
}

export class BattleListView {
  @ApiProperty({ type: [BattleView], description: 'newest first' }) list!: BattleView[];
  @ApiProperty({
    type: 'string',
    nullable: true,
    pattern: '^[1-9]\\d{0,15}$',
    example: null,
    description: 'pass as ?cursor= for the next page; null on the last page',
  })
  next_cursor!: string | null;
}

export class ContributionView {
  @ApiProperty({ ...ID_DOC, example: 'fan_42' }) user_id!: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 500 }) amount!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 1,
    description: 'the position in the ranking, across pages',
  })
  rank!: number;
}

export class ContributionListView {
  @ApiProperty({
    type: [ContributionView],
    description: 'highest amount first; equal amounts by who reached theirs first, then by user_id',
  })
  list!: ContributionView[];
  @ApiProperty({
    type: 'string',
    nullable: true,
    pattern: '^[A-Za-z0-9_-]{1,200}$',
    example: null,
    description: 'pass as ?cursor= for the next page; null on the last page',
  })
  next_cursor!: string | null;
}

const mvpView = (c: Contributor | null): MvpView | null =>
  c === null ? null : { room_id: c.roomId, user_id: c.userId, amount: c.amount };

export function toBattleView(relayId: string, b: Battle): BattleView {
  return {
    relay_id: relayId,
    battle_no: b.battleNo,
    phase: b.phase,
    reason: b.reason,
    mode: b.mode,
    rooms: b.rooms.map((r) => ({
      room_id: r.roomId,
      user_id: r.userId,
      state: r.state,
      score: r.score,
    })),
    scores: Object.fromEntries(b.rooms.map((r) => [r.roomId, r.score])),
    ranking: rankingOf(b).map((r) => ({ room_id: r.roomId, score: r.score, rank: r.rank })),
    winner_room_id: b.settled ? b.winnerRoomId : '',
    mvp: b.settled ? mvpView(b.mvp) : null,
    countdown_s: b.countdownS,
    duration_s: b.durationS,
    punishment_s: b.punishmentS,
    created_at: formatLocalTime(b.createdAt),
    fight_start_at: formatLocalTime(b.fightStartAt),
    fight_end_at: formatLocalTime(b.fightEndAt),
    ended_at: formatLocalTime(b.endedAt),
  };
}
