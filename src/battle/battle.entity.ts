import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { BattlePhase, BattleReason } from './battle.machine';

/**
 * One battle of a relay, as the migrations create it (the store's SQL is built from the column
 * map in battle.store.ts). Every change of a battle is made under its relay's row lock, in the
 * relay's transaction; `version` makes each write conditional on the row it read all the same.
 */
@Entity('relay_battle')
@Index('idx_relay_battle_due', ['dueAt'])
export class RelayBattle {
  @PrimaryColumn({ name: 'relay_id', type: 'varchar', length: 64 })
  relayId!: string;

  /** 1, 2, 3... within the relay. */
  @PrimaryColumn({ name: 'battle_no', type: 'integer' })
  battleNo!: number;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'phase', type: 'varchar', length: 16 })
  phase!: BattlePhase;

  @Column({ name: 'reason', type: 'varchar', length: 32, default: '' })
  reason!: BattleReason | '';

  @Column({ name: 'mode', type: 'varchar', length: 8 })
  mode!: 'invite' | 'auto';

  /** Its rooms, their states and battle scores (BattleRoom[], battle.machine.ts). */
  @Column({ name: 'rooms_json', type: 'varchar', length: 4096 })
  roomsJson!: string;

  @Column({ name: 'countdown_s', type: 'integer' })
  countdownS!: number;

  @Column({ name: 'duration_s', type: 'integer' })
  durationS!: number;

  @Column({ name: 'punishment_s', type: 'integer' })
  punishmentS!: number;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;

  @Column({ name: 'invite_due_at', type: 'bigint', nullable: true })
  inviteDueAt!: number | null;

  @Column({ name: 'fight_start_at', type: 'bigint', nullable: true })
  fightStartAt!: number | null;

  @Column({ name: 'fight_end_at', type: 'bigint', nullable: true })
  fightEndAt!: number | null;

  @Column({ name: 'ended_at', type: 'bigint', nullable: true })
  endedAt!: number | null;

  /** When its next phase move falls due; null once it has ended. */
  @Column({ name: 'due_at', type: 'bigint', nullable: true })
  dueAt!: number | null;

  /** 1 once the fight is settled: scores frozen, winner and MVP decided. */
  @Column({ name: 'settled', type: 'integer', default: 0 })
  settled!: number;

  @Column({ name: 'winner_room_id', type: 'varchar', length: 64, default: '' })
  winnerRoomId!: string;

  /** `{roomId, userId, amount}` of the MVP, or JSON null. */
  @Column({ name: 'mvp_json', type: 'varchar', length: 512, default: 'null' })
  mvpJson!: string;

  @Column({ name: 'version', type: 'integer' })
  version!: number;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: number;
}

/**
 * What one audience member's gifts added to one room of a relay: over the whole relay
 * (`battle_no` 0) and in each battle. The ranking index serves a page of the leaderboard
 * (highest amount first, then who reached it first, then the user id) by walking it in order
 * from a cursor, never sorting the room's contributors.
 */
@Entity('relay_contribution')
@Index('idx_relay_contribution_rank', [
  'relayId',
  'roomId',
  'battleNo',
  'amount',
  'reachedAt',
  'userId',
])
export class RelayContribution {
  @PrimaryColumn({ name: 'relay_id', type: 'varchar', length: 64 })
  relayId!: string;

  @PrimaryColumn({ name: 'room_id', type: 'varchar', length: 64 })
  roomId!: string;

  @PrimaryColumn({ name: 'battle_no', type: 'integer' })
  battleNo!: number;

  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  @Column({ name: 'amount', type: 'bigint' })
  amount!: number;

  /** When the amount last grew: of two equal amounts, the one reached first ranks higher. */
  @Column({ name: 'reached_at', type: 'bigint' })
  reachedAt!: number;
}
