import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { SweepingWorker } from '../common/sweeper';
import { Database } from '../database/database.service';
import { IDEMPOTENCY_TTL_MS } from './idempotency.service';
import { IdempotencyStore } from './idempotency.store';

/** Keys live 24 hours, so looking once a minute is plenty; a backlog goes batch after batch. */
const INTERVAL_MS = 60_000;

/** Deletes idempotency keys past their 24 hours, in short transactions, on any number of nodes. */
@Injectable()
export class IdempotencyRetentionWorker extends SweepingWorker {
  constructor(
    private readonly db: Database,
    private readonly keys: IdempotencyStore,
    private readonly clock: Clock,
  ) {
    super(IdempotencyRetentionWorker.name, INTERVAL_MS);
  }

  /** One batch of at most `limit` expired keys; answers how many it found. */
  deleteExpired(limit: number): Promise<number> {
    const cutoff = this.clock.now() - IDEMPOTENCY_TTL_MS;
    return this.db.transaction((sql) => this.keys.deleteExpired(sql, cutoff, limit));
  }

  protected sweep(limit: number): Promise<number> {
    return this.deleteExpired(limit);
  }
}
