import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { RelayStatus, StopReason } from './relay.machine';

/**
 * One relay session. `version` grows by one with every committed change, and each change
 * writes exactly one event, so `version` is also the `seq` of the latest event.
 */
@Entity('relay_session')
@Index('uq_relay_session_relay_id', ['relayId'], { unique: true })
@Index('idx_relay_session_init', ['appId', 'initUserId', 'id'])
@Index('idx_relay_session_recv', ['appId', 'recvUserId', 'id'])
@Index('idx_relay_session_deadline', ['deadlineAt'])
export class RelaySession {
  /** Internal order of creation; the list endpoint's cursor. */
  @PrimaryGeneratedColumn({ name: 'id', type: 'bigint' })
  id!: number;

  @Column({ name: 'relay_id', type: 'varchar', length: 64 })
  relayId!: string;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'init_user_id', type: 'varchar', length: 64 })
  initUserId!: string;

  @Column({ name: 'init_room_id', type: 'varchar', length: 64 })
  initRoomId!: string;

  @Column({ name: 'recv_user_id', type: 'varchar', length: 64 })
  recvUserId!: string;

  @Column({ name: 'recv_room_id', type: 'varchar', length: 64 })
  recvRoomId!: string;

  @Column({ name: 'status', type: 'integer' })
  status!: RelayStatus;

  @Column({ name: 'stop_reason', type: 'varchar', length: 32, default: '' })
  stopReason!: StopReason | '';

  @Column({ name: 'duration_s', type: 'integer', nullable: true })
  durationS!: number | null;

  @Column({ name: 'extends_json', type: 'text' })
  extendsJson!: string;

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
