import { ApiExtraModels, ApiProperty } from '@nestjs/swagger';
import { nullableRef } from '../common/api-envelope.decorator';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { BattleScoresView, RelaySessionView } from './relay.dto';
import {
  RelayStatus,
  RoomMoveData,
  ROOM_REASONS,
  ROOM_STATES,
  RoomReason,
  RoomState,
  STOP_REASONS,
  StatusChange,
  StopReason,
} from './relay.machine';
import { Scores } from './relay.score';

/**
 * The `data` of each event type the relay records, as classes: their OpenAPI schemas and their
 * TypeScript types are one thing, and RELAY_EVENT_DATA maps each type to its class for the
 * writers (relay.events.ts) and the event catalogue of the notifications.
 */
export class StatusChangedData implements StatusChange {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 6,
    example: 0,
    description: 'null for the event that creates the session',
  })
  from!: RelayStatus | null;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 6, example: 1 }) to!: RelayStatus;
  @ApiProperty({
    enum: ['', ...STOP_REASONS],
    example: '',
    description: 'the stop_reason on a move to 5 or 6, else ""',
  })
  reason!: StopReason | '';
  @ApiProperty({ type: RelaySessionView, description: 'the session after the change' })
  session!: RelaySessionView;
}

export class RoomChangedData implements RoomMoveData {
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'room_c' }) room_id!: string;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, example: 'carol', description: 'its anchor' })
  user_id!: string;
  @ApiProperty({ enum: ROOM_STATES, example: 'agreed' }) from!: RoomState;
  @ApiProperty({ enum: ROOM_STATES, example: 'left' }) to!: RoomState;
  @ApiProperty({
    enum: ['', ...ROOM_REASONS],
    example: 'stopped',
    description: 'why the room became rejected or left, else ""',
  })
  reason!: RoomReason | '';
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

@ApiExtraModels(BattleScoresView)
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
  scores!: Scores;
  @ApiProperty({
    ...nullableRef(BattleScoresView),
    description: 'the battle in play that the change counted for too, or null',
  })
  battle!: BattleScoresView | null;
  @ApiProperty({ type: RelaySessionView, description: 'the session after the change' })
  session!: RelaySessionView;
}

/** The relay's event types and the class of each one's `data`. */
export const RELAY_EVENT_DATA = {
  'relay.status_changed': StatusChangedData,
  /** Recorded in relays of 3+ rooms only, before the status change the move may cause. */
  'relay.room_changed': RoomChangedData,
  'relay.extends_updated': ExtendsUpdatedData,
  'relay.score_changed': ScoreChangedData,
} as const;

export type RelayEventType = keyof typeof RELAY_EVENT_DATA;

/** The `data` of each relay event type. */
export type RelayEventData = {
  [T in RelayEventType]: InstanceType<(typeof RELAY_EVENT_DATA)[T]>;
};
