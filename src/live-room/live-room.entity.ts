import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export enum LiveStatus {
  Created = 0,
  Live = 1,
  Stopped = 2,
}

/** Times are unix milliseconds in BIGINT columns: one representation on MySQL and SQLite. */
@Entity('live_room')
@Index('idx_live_room_app_anchor', ['appId', 'anchorId'])
@Index('idx_live_room_silence', ['liveStatus', 'heartbeatAt'])
export class LiveRoom {
  @PrimaryColumn({ name: 'live_id', type: 'varchar', length: 64 })
  liveId!: string;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'title', type: 'varchar', length: 255 })
  title!: string;

  @Column({ name: 'notice', type: 'varchar', length: 1024, default: '' })
  notice!: string;

  @Column({ name: 'cover_url', type: 'varchar', length: 1024, default: '' })
  coverUrl!: string;

  @Column({ name: 'extends_json', type: 'text' })
  extendsJson!: string;

  @Column({ name: 'anchor_id', type: 'varchar', length: 64 })
  anchorId!: string;

  @Column({ name: 'live_status', type: 'integer' })
  liveStatus!: LiveStatus;

  /** The relay (any non-terminal status) that has claimed this room, or ''. */
  @Column({ name: 'pk_id', type: 'varchar', length: 64, default: '' })
  pkId!: string;

  @Column({ name: 'start_at', type: 'bigint', nullable: true })
  startAt!: number | null;

  @Column({ name: 'end_at', type: 'bigint', nullable: true })
  endAt!: number | null;

  @Column({ name: 'heartbeat_at', type: 'bigint', nullable: true })
  heartbeatAt!: number | null;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: number;
}
