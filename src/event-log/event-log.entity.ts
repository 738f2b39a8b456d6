import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The domain event log (docs/events.md), written in the same transaction as the change
 * it records. `id` orders the whole log; consumers resume from the last id they saw. The
 * participant columns list the relay's anchors and rooms, so streams can pick their events
 * without reading the relay tables.
 * Every column but the key, whose type depends on the database (see SqliteRelayEvent).
 */
@Index('uq_relay_event_relay_seq', ['relayId', 'seq'], { unique: true })
@Index('idx_relay_event_app', ['appId', 'id'])
@Index('idx_relay_event_occurred', ['occurredAt'])
abstract class RelayEventColumns {
  abstract id: number;

  @Column({ name: 'type', type: 'varchar', length: 64 })
  type!: string;

  @Column({ name: 'relay_id', type: 'varchar', length: 64 })
  relayId!: string;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'seq', type: 'integer' })
  seq!: number;

  @Column({ name: 'occurred_at', type: 'bigint' })
  occurredAt!: number;

  @Column({ name: 'data', type: 'text' })
  data!: string;

  /** The relay's anchors as `,alice,bob,carol,`: identifiers hold no comma. */
  @Column({ name: 'user_ids', type: 'varchar', length: 640, default: '' })
  userIds!: string;

  /** The relay's rooms, the same way. */
  @Column({ name: 'room_ids', type: 'varchar', length: 640, default: '' })
  roomIds!: string;
}

/** The event as stored on MySQL and MariaDB. */
@Entity('relay_event')
export class RelayEvent extends RelayEventColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'bigint' })
  id!: number;
}

/** The event as stored on SQLite, which auto-increments only INTEGER keys (64-bit there). */
@Entity('relay_event')
export class SqliteRelayEvent extends RelayEventColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'integer' })
  id!: number;
}
