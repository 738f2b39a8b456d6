import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The migration lock of a Galera cluster (migration.lock.ts): one row per lock, claimed by a
 * node for a lease it renews while it migrates. A row, not GET_LOCK, because Galera replicates
 * rows and not a session's named locks. Created by the lock itself, before the first migration
 * can run, and by the migration GaleraSupport1765065600000, so every database has it.
 */
@Entity('migration_lock')
export class MigrationLock {
  @PrimaryColumn({ name: 'name', type: 'varchar', length: 64 })
  name!: string;

  /** Which process holds it: host, pid and a random part. */
  @Column({ name: 'holder', type: 'varchar', length: 128 })
  holder!: string;

  /** Unix milliseconds after which another node may take it over (the holder died). */
  @Column({ name: 'expires_at', type: 'bigint' })
  expiresAt!: number;
}
