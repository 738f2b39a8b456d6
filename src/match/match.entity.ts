import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TicketReason, TicketState } from './match.machine';

/**
 * A matchmaking ticket, as the migrations create it (the store's SQL is built from the column
 * map in match.store.ts). `waiting_room` is the room while the ticket waits and NULL after: its
 * unique key is what lets a room hold one waiting ticket at most, on any number of nodes.
 */
@Entity('relay_match_ticket')
@Index('uq_match_ticket_waiting_room', ['appId', 'waitingRoom'], { unique: true })
@Index('idx_match_ticket_pool', ['appId', 'pool', 'state', 'createdAt'])
@Index('idx_match_ticket_due', ['state', 'expiresAt'])
export class MatchTicket {
  @PrimaryColumn({ name: 'match_id', type: 'varchar', length: 64 })
  matchId!: string;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'room_id', type: 'varchar', length: 64 })
  roomId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  @Column({ name: 'pool', type: 'varchar', length: 64 })
  pool!: string;

  @Column({ name: 'state', type: 'varchar', length: 16 })
  state!: TicketState;

  @Column({ name: 'reason', type: 'varchar', length: 16, default: '' })
  reason!: TicketReason | '';

  @Column({ name: 'relay_id', type: 'varchar', length: 64, default: '' })
  relayId!: string;

  @Column({ name: 'waiting_room', type: 'varchar', length: 64, nullable: true })
  waitingRoom!: string | null;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;

  @Column({ name: 'expires_at', type: 'bigint' })
  expiresAt!: number;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: number;
}

/**
 * One row per pool of an app, written by every match request of that pool before it looks for a
 * partner: the write is the pool's lock. On one primary it holds the row lock until commit, so
 * the requests of a pool pair one after another; on a multi-primary cluster two requests that
 * wrote it on two nodes cannot both commit (one is certified first, the other retries), which a
 * lock that is only read could not promise.
 */
@Entity('relay_match_pool')
export class MatchPool {
  @PrimaryColumn({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @PrimaryColumn({ name: 'pool', type: 'varchar', length: 64 })
  pool!: string;

  @Column({ name: 'version', type: 'bigint', default: 0 })
  version!: number;
}
