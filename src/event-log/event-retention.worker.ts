import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { SweepingWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { Database } from '../database/database.service';
import { EventLog, LogPosition } from './event-log.service';

const HOUR_MS = 3_600_000;

/**
 * Retention is counted in hours, so looking once a minute is plenty; a backlog (the first run
 * after an upgrade, a lowered EVENT_RETENTION_HOURS) is worked off batch after batch at once.
 */
const RETENTION_INTERVAL_MS = 60_000;

/**
 * Deletes events older than EVENT_RETENTION_HOURS; what other modules keep for them goes first,
 * through their purge hooks (finished webhook deliveries), and an event one of them still needs
 * (a pending delivery) waits. Relay sessions and rooms are kept. Each batch is one short
 * transaction, and batches are separate turns of the sweeper, so requests are served in
 * between. Any number of nodes may run it: a batch deletes only what is still there.
 */
@Injectable()
export class EventRetentionWorker extends SweepingWorker {
  /**
   * Where this pass has got to: events kept for now lie behind it, so a backlog moves past them
   * instead of finding them again. A pass ends with a short batch, and the next starts over.
   */
  private position: LogPosition | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {
    super(EventRetentionWorker.name, RETENTION_INTERVAL_MS);
  }

  protected async sweep(limit: number): Promise<number> {
    return (await this.batch(limit)).found;
  }

  /** One batch of at most `limit` expired events; answers how many it deleted. */
  async deleteExpired(limit: number): Promise<number> {
    return (await this.batch(limit)).deleted;
  }

  private async batch(limit: number): Promise<{ found: number; deleted: number }> {
    const cutoff = this.clock.now() - this.config.eventRetentionHours * HOUR_MS;
    const { last, found, deleted } = await this.db.transaction((sql) =>
      this.events.purge(sql, cutoff, this.position, limit),
    );
    this.position = found < limit ? null : last;
    return { found, deleted };
  }
}
