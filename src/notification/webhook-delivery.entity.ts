import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * One event to one webhook URL. The row is the whole retry state, so retries survive restarts;
 * `next_attempt_at` is also the lease of an attempt in flight (pushed out when a node claims it).
 */
@Entity('webhook_delivery')
@Index('uq_webhook_delivery_event_url', ['eventId', 'url'], { unique: true })
@Index('idx_webhook_delivery_due', ['status', 'nextAttemptAt'])
@Index('idx_webhook_delivery_status', ['status', 'id'])
export class WebhookDelivery {
  @PrimaryGeneratedColumn({ name: 'id', type: 'bigint' })
  id!: number;

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

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: number;
}
