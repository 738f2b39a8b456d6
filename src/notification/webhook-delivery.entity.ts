import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * One event to one webhook URL. The row is the whole retry state, so retries survive restarts;
 * `next_attempt_at` is also the lease of an attempt in flight (pushed out when a node claims it).
 * Every column but the key, whose type depends on the database (see SqliteWebhookDelivery).
 */
@Index('uq_webhook_delivery_event_url', ['eventId', 'url'], { unique: true })
@Index('idx_webhook_delivery_due', ['status', 'nextAttemptAt'])
@Index('idx_webhook_delivery_status', ['status', 'id'])
abstract class WebhookDeliveryColumns {
  abstract id: number;

  @Column({ name: 'event_id', type: 'bigint' })
  eventId!: number;

  @Column({ name: 'url', type: 'varchar', length: 512 })
  url!: string;

  @Column({ name: 'status', type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  @Column({ name: 'attempts', type: 'integer' })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'bigint' })
  nextAttemptAt!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 1024, default: '' })
  lastError!: string;

  @Column({ name: 'delivered_at', type: 'bigint', nullable: true })
  deliveredAt!: number | null;

  /** The `traceparent` its POSTs carry: the trace of the request that caused the event. */
  @Column({ name: 'traceparent', type: 'varchar', length: 55, default: '' })
  traceparent!: string;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: number;
}

/** The delivery as stored on MySQL and MariaDB. */
@Entity('webhook_delivery')
export class WebhookDelivery extends WebhookDeliveryColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'bigint' })
  id!: number;
}

/** The delivery as stored on SQLite, which auto-increments only INTEGER keys (64-bit there). */
@Entity('webhook_delivery')
export class SqliteWebhookDelivery extends WebhookDeliveryColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'integer' })
  id!: number;
}
