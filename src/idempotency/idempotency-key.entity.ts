import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One `Idempotency-Key` of one user of one app (docs/api.md, "Idempotent retries"). The unique
 * key is what decides, on any number of nodes, which request runs; the others read the row.
 * `created_at` is when the running request claimed the key: the start of its 24 hours, the
 * age of its lease while running, and the claim's identity in every later conditional write.
 * Every column but the key, whose type depends on the database (see SqliteIdempotencyKey).
 */
@Index('uq_idempotency_key_scope', ['appId', 'userId', 'key'], { unique: true })
@Index('idx_idempotency_key_created', ['createdAt'])
abstract class IdempotencyKeyColumns {
  abstract id: number;

  @Column({ name: 'app_id', type: 'varchar', length: 64 })
  appId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  @Column({ name: 'idem_key', type: 'varchar', length: 128 })
  key!: string;

  /** sha256 hex of the request body's canonical JSON. */
  @Column({ name: 'fingerprint', type: 'varchar', length: 64 })
  fingerprint!: string;

  @Column({ name: 'state', type: 'varchar', length: 16 })
  state!: 'running' | 'done';

  /** The HTTP status answered; 0 while running. */
  @Column({ name: 'http_status', type: 'integer' })
  httpStatus!: number;

  /** `{code, message, data?}` of the answer as JSON; null while running. */
  @Column({ name: 'answer', type: 'text', nullable: true })
  answer!: string | null;

  @Column({ name: 'created_at', type: 'bigint' })
  createdAt!: number;
}

/** The key as stored on MySQL and MariaDB. */
@Entity('idempotency_key')
export class IdempotencyKey extends IdempotencyKeyColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'bigint' })
  id!: number;
}

/** The key as stored on SQLite, which auto-increments only INTEGER keys (64-bit there). */
@Entity('idempotency_key')
export class SqliteIdempotencyKey extends IdempotencyKeyColumns {
  @PrimaryGeneratedColumn({ name: 'id', type: 'integer' })
  id!: number;
}
