import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { traceOf, traceparentOf } from '../common/trace-context';
import { SweepingWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { Database } from '../database/database.service';
import { EventLog, publicEventJson } from '../event-log/event-log.service';
import { Metrics } from '../observability/metrics.service';
import { WebhookDeliveryStore } from './webhook-delivery.store';
import { WEBHOOK_TIMEOUT_MS, WebhookSender } from './webhook.sender';
import { retryDelayMs } from './webhook.signature';

/** Longer than an attempt can take, so a live attempt is never taken over. */
const LEASE_MS = WEBHOOK_TIMEOUT_MS + 25_000;
const PARALLEL_POSTS = 16;

/**
 * Webhooks: each event is queued for every configured URL in the transaction that made it,
 * then every node sends due attempts. Which node sends an attempt is decided by a conditional
 * update on the row, so each attempt is made once; the retry state lives in the row, so it
 * survives restarts.
 */
@Injectable()
export class WebhookDispatcher extends SweepingWorker {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly inFlight = new Set<Promise<void>>();
  private readonly secrets: string[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly deliveries: WebhookDeliveryStore,
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly events: EventLog,
  ) {
    super(WebhookDispatcher.name, config.timerIntervalMs);
    const { urls, secret, previousSecret, eventTypes } = config.webhook;
    this.secrets = previousSecret === null ? [secret] : [secret, previousSecret];
    const posted = new Set<string>(eventTypes);
    // Deliveries of other settings may still exist, so they are purged with their events always.
    events.onPurge((sql, ids) => this.deliveries.purge(sql, ids));
    if (urls.length > 0) {
      events.onAppend(async (sql, appended) => {
        const queued = appended.filter((event) => posted.has(event.type));
        if (queued.length === 0) return;
        // Each event's deliveries carry the trace of the request that caused it; work no
        // request caused (a timer) starts a trace of its own.
        const own = traceparentOf(sql.cause?.trace ?? traceOf(undefined));
        const traced = queued.map((event) => ({
          ...event,
          traceparent: event.cause?.trace === undefined ? own : traceparentOf(event.cause.trace),
        }));
        await this.deliveries.queue(sql, traced, urls);
      });
      events.onCommitted((event) => {
        if (posted.has(event.type)) this.wake();
      });
    }
  }

  /**
   * Starts due attempts up to the node's limit and returns without waiting for them: a receiver
   * that hangs for its 5 s must not hold back the others. Each finished attempt looks again.
   */
  protected async sweep(limit: number): Promise<number> {
    const room = Math.min(limit, PARALLEL_POSTS - this.inFlight.size);
    if (room <= 0) return 0;
    const due = await this.db.read((sql) => this.deliveries.findDue(sql, this.clock.now(), room));
    for (const id of due) {
      const attempt = this.attempt(id)
        .catch((error: unknown) =>
          this.logger.error(`webhook delivery ${id} failed: ${String(error)}`),
        )
        .finally(() => {
          this.inFlight.delete(attempt);
          this.wake();
        });
      this.inFlight.add(attempt);
    }
    return due.length;
  }

  override async onModuleDestroy(): Promise<void> {
    await super.onModuleDestroy();
    await Promise.all(this.inFlight);
  }

  private async attempt(id: number): Promise<void> {
    const now = this.clock.now();
    const leaseUntil = now + LEASE_MS;
    const claimed = await this.db.transaction((sql) =>
      this.deliveries.claim(sql, id, now, leaseUntil),
    );
    if (!claimed) return;
    const delivery = await this.db.read((sql) => this.deliveries.get(sql, id));
    const [event] = delivery ? await this.events.byIds([delivery.eventId]) : [];
    if (!delivery || !event) return;
    const outcome = await this.sender.send(
      delivery.url,
      this.secrets,
      {
        id: Number(event.id),
        type: event.type,
        json: publicEventJson(event),
        traceparent: delivery.traceparent,
      },
      this.clock.now(),
    );
    const attempts = delivery.attempts + 1;
    const done = this.clock.now();
    const result = outcome.ok
      ? {
          status: 'delivered' as const,
          attempts,
          nextAttemptAt: done,
          lastError: '',
          deliveredAt: done,
        }
      : {
          status:
            attempts >= this.config.webhook.maxAttempts
              ? ('failed' as const)
              : ('pending' as const),
          attempts,
          nextAttemptAt: done + retryDelayMs(attempts),
          lastError: outcome.error,
          deliveredAt: null,
        };
    await this.db.transaction((sql) =>
      this.deliveries.complete(sql, delivery, leaseUntil, result, done),
    );
    // A receiver that refuses is the customer's to fix, and the log is where they look first.
    if (!outcome.ok) {
      const what =
        result.status === 'failed'
          ? `marked failed after ${attempts} attempts`
          : `will retry in ${Math.round((result.nextAttemptAt - done) / 1000)} s`;
      this.logger.warn(
        `webhook event ${event.id} to ${delivery.url}: attempt ${attempts} failed ` +
          `(${outcome.error}); ${what}`,
      );
    }
    this.metrics.webhookDeliveries.inc({
      result: result.status === 'pending' ? 'retry' : result.status,
    });
  }
}
