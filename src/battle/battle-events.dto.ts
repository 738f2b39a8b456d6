import { ApiProperty } from '@nestjs/swagger';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { RelaySessionView } from '../relay/relay.dto';
import { BattleView } from './battle.dto';
import {
  BATTLE_PHASES,
  BATTLE_REASONS,
  BATTLE_ROOM_STATES,
  BattleChange,
  BattlePhase,
  BattleReason,
  BattleRoomReason,
  BattleRoomState,
} from './battle.machine';

const PHASE_OR_ROOM_STATE = [...new Set([...BATTLE_PHASES, ...BATTLE_ROOM_STATES])];

/** The data of relay.battle_changed: one phase move or one room's answer. */
export class BattleChangedData implements BattleChange {
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) battle_no!: number;
  @ApiProperty({
    type: 'string',
    pattern: `^(${IDENTIFIER_PATTERN.source.slice(1, -1)})?$`,
    example: '',
    description: 'the room that answered (or was rejected for not answering); "" for a phase move',
  })
  room_id!: string;
  @ApiProperty({
    type: 'string',
    nullable: true,
    enum: PHASE_OR_ROOM_STATE,
    example: 'countdown',
    description: "the phase before, or the room's state before; null when the battle is created",
  })
  from!: BattlePhase | BattleRoomState | null;
  @ApiProperty({ type: 'string', enum: PHASE_OR_ROOM_STATE, example: 'fighting' })
  to!: BattlePhase | BattleRoomState;
  @ApiProperty({
    type: 'string',
    enum: ['', ...BATTLE_REASONS],
    example: '',
    description:
      "the battle's reason on a move to ended; rejected or invite_timeout for a room moving to " +
      'rejected; else ""',
  })
  reason!: BattleReason | BattleRoomReason;
  @ApiProperty({ type: BattleView, description: 'the battle right after this change' })
  battle!: BattleView;
  @ApiProperty({ type: RelaySessionView, description: 'the session, showing that battle' })
  session!: RelaySessionView;
}

/** The event type the battle module records, and the class of its data. */
export const BATTLE_EVENT_DATA = { 'relay.battle_changed': BattleChangedData } as const;
