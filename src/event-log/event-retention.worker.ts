import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { SweepingWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { Database } from '../database/database.service';
import { IDEMPOTENCY_TTL_MS } from '../idempotency/idempotency.service';

const HOUR_MS = 3_600_000;

/**
 * Retention is counted in hours, so looking once a minute is plenty; a backlog (the first run
 * after an upgrade, a lowered EVENT_RETENTION_HOURS) is worked off batch after batch at once.
 */
const RETENTION_INTERVAL_MS = 60_000;

/**
 * The oldest expired events that may go: none of their deliveries is still pending. Served by
 * idx_relay_event_occurred, and per event by the delivery's unique (event_id, url) index.
 */
export const EXPIRED_EVENTS_SQL =
  'SELECT e.id FROM relay_event e WHERE e.occurred_at < ? AND NOT EXISTS ' +
  "(SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id AND d.status = 'pending') " +
  'ORDER BY e.occurred_at LIMIT ?';

/**
 * Deletes events older than EVENT_RETENTION_HOURS with their finished (delivered or failed)
 * deliveries; an event whose delivery is still pending waits until it is finished. Relay
 * sessions and rooms are kept. Each batch is one short transaction, and batches are separate
 * turns of the sweeper, so requests are served in between. Any number of nodes may run it: a
 * batch deletes only what is still there and still finished when it holds the rows' locks, so
 * two nodes on the same batch just find less to do.
 */
@Injectable()
export class EventRetentionWorker extends SweepingWorker {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    super(EventRetentionWorker.name, RETENTION_INTERVAL_MS);
  }

  /** Answers the larger batch of the two kinds, so that either one's backlog is worked off. */
  protected async sweep(limit: number): Promise<number> {
    return Math.max(await this.deleteExpired(limit), await this.deleteExpiredKeys(limit));
  }

  /**
   * One batch of at most `limit` idempotency keys past their 24 hours; answers how many it
   * found. Served by idx_idempotency_key_created. A key claimed afresh meanwhile (its
   * created_at moved) is not deleted: the DELETE repeats the age condition.
   */
  async deleteExpiredKeys(limit: number): Promise<number> {
    const cutoff = this.clock.now() - IDEMPOTENCY_TTL_MS;
    return this.db.transaction(async (sql) => {
      const found = await sql.rows<{ id: number }>(
        'SELECT id FROM idempotency_key WHERE created_at <= ? ORDER BY created_at LIMIT ?',
        [cutoff, limit],
      );
      if (found.length === 0) return 0;
      const ids = found.map((row) => Number(row.id));
      await sql.run(`DELETE FROM idempotency_key WHERE id IN (${marks(ids)}) AND created_at <= ?`, [
        ...ids,
        cutoff,
      ]);
      return found.length;
    });
  }

  /** One batch of at most `limit` events; answers how many expired events it found. */
  async deleteExpired(limit: number): Promise<number> {
    const cutoff = this.clock.now() - this.config.eventRetentionHours * HOUR_MS;
    return this.db.transaction(async (sql) => {
      const found = await sql.rows<{ id: number }>(EXPIRED_EVENTS_SQL, [cutoff, limit]);
      if (found.length === 0) return 0;
      const ids = found.map((row) => Number(row.id));
      // Locking every delivery of these events makes the pending check final: a redelivery
      // (which turns a finished delivery back to pending) waits for this transaction, then finds
      // the delivery gone.
      const deliveries = await sql.rows<{ eventId: number; status: string }>(
        `SELECT event_id AS eventId, status FROM webhook_delivery WHERE event_id IN (${marks(ids)})` +
          this.db.forUpdate,
        ids,
      );
      const pending = new Set(
        deliveries.filter((d) => d.status === 'pending').map((d) => Number(d.eventId)),
      );
      const expired = ids.filter((id) => !pending.has(id));
      if (expired.length > 0) {
        await sql.run(
          `DELETE FROM webhook_delivery WHERE event_id IN (${marks(expired)})`,
          expired,
        );
        await sql.run(`DELETE FROM relay_event WHERE id IN (${marks(expired)})`, expired);
      }
      return found.length;
    });
  }
}

function marks(values: unknown[]): string {
  return values.map(() => '?').join(', ');
}
