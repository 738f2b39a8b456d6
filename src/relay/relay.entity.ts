import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { RelayStatus, StopReason } from './relay.machine';
import type { RelayOrigin } from './relay.store';

/**
 * One relay session, as the migrations create it (the store's SQL is built from its column map
 * in relay.store.ts). `version` grows by one with every event the relay records (a change may
 * record several: each room's move, then the status change), so it is the `seq` of its latest
 * event. Every column but the key, whose type depends on the database (see SqliteRelaySession).
 */
@Index('uq_relay_session_relay_id', ['relayId'], { unique: true })
@Index('idx_relay_session_deadline', ['deadlineAt'])
@Index('idx_relay_session_status', ['status'])
abstract class RelaySessionColumns {
  /** Internal order of creation; the list endpoint's cursor. */
  abstract id: number;

  @Column({ name: 'relay_id', type: 'varchar', length: 64 })
  relayId!: string;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'init_user_id', type: 'varchar', length: 64 })
  initUserId!: string;

  @Column({ name: 'init_room_id', type: 'varchar', length: 64 })
  initRoomId!: string;

  /** The first receiver's, in relays of any size. */
  @Column({ name: 'recv_user_id', type: 'varchar', length: 64 })
  recvUserId!: string;

  @Column({ name: 'recv_room_id', type: 'varchar', length: 64 })
  recvRoomId!: string;

  /**
   * Every room of the relay with its state (RoomSnapshot[], relay.machine.ts), the initiator's
   * first: the state the machine reads and writes, kept on the row so that every change stays
   * one conditional update. Nine rooms of the longest identifiers take about 2,100 characters.
   */
  @Column({ name: 'rooms_json', type: 'varchar', length: 4096, default: '[]' })
  roomsJson!: string;

  @Column({ name: 'status', type: 'integer' })
  status!: RelayStatus;

  @Column({ name: 'stop_reason', type: 'varchar', length: 32, default: '' })
  stopReason!: StopReason | '';

  @Column({ name: 'duration_s', type: 'integer', nullable: true })
  durationS!: number | null;

  @Column({ name: 'extends_json', type: 'text' })
  extendsJson!: string;

  /**
   * The view of the relay's newest battle, or null: what the session shows as `battle`, written
   * by the battle module in the transaction of every change of that battle.
   */
  @Column({ name: 'battle_json', type: 'text', nullable: true })
  battleJson!: string | null;

  /** Who started it: `invite` (an anchor), `match` (matchmaking) or `server` (your backend). */
  @Column({ name: 'origin', type: 'varchar', length: 8, default: 'invite' })
  origin!: RelayOrigin;

  /** `{"<room_id>": score}` with every room of the relay (relay.score.ts). */
  @Column({ name: 'scores_json', type: 'varchar', length: 1024, default: '{}' })
  scoresJson!: string;

  @Column({ name: 'version', type: 'integer' })
  version!: number;

  @Column({ name: 'start_at', type: 'bigint', nullable: true })
  startAt!: number | null;

  @Column({ name: 'stop_at', type: 'bigint', nullable: true })
  stopAt!: number | null;

  /** When the next timer of this session falls due; null when none is pending. */
  @Column({ name: 'deadline_at', type: 'bigint', nullable: true })
  deadlineAt!: number | null;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: number;
}

/** The session as stored on MySQL and MariaDB. */
@Entity('relay_session')
export class RelaySession extends RelaySessionColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'bigint' })
  id!: number;
}

/** The session as stored on SQLite, which auto-increments only INTEGER keys (64-bit there). */
@Entity('relay_session')
export class SqliteRelaySession extends RelaySessionColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'integer' })
  id!: number;
}

/**
 * Who takes part in which relay, with which room: a user is in a relay at most once, as its
 * initiator or as one of its receivers. The key serves the list of one's own relays (app, user,
 * newest first), idx_relay_member_room the relays of a room; rows are written with the session
 * and never change.
 */
@Entity('relay_member')
@Index('idx_relay_member_room', ['appId', 'roomId', 'sessionId'])
export class RelayMember {
  @PrimaryColumn({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  @PrimaryColumn({ name: 'session_id', type: 'bigint' })
  sessionId!: number;

  @Column({ name: 'role', type: 'varchar', length: 8 })
  role!: 'init' | 'recv';

  @Column({ name: 'room_id', type: 'varchar', length: 64, default: '' })
  roomId!: string;
}

/**
 * A `score_id` already used on a relay. The primary key is what makes a gift count once: the
 * score request inserts its id in the transaction that changes the score, and a second insert
 * of the same id fails on any node, however close together they arrive.
 */
@Entity('relay_score_id')
export class RelayScoreId {
  @PrimaryColumn({ name: 'relay_id', type: 'varchar', length: 64 })
  relayId!: string;

  @PrimaryColumn({ name: 'score_id', type: 'varchar', length: 64 })
  scoreId!: string;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;
}
