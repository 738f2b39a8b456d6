import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Database } from '../database/database.service';
import { EventLog } from '../event-log/event-log.service';

/** What the `relays_active` gauge runs at each scrape; a range of idx_relay_session_status. */
export const RELAYS_ACTIVE_SQL =
  'SELECT status, COUNT(*) AS n FROM relay_session WHERE status < 5 GROUP BY status';

/**
 * The Prometheus registry of this app. One registry per app instance, not prom-client's global
 * one, so several apps in one process (the e2e suite) never mix their figures.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route and status code',
    labelNames: ['method', 'route', 'status_code'],
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to answer, by route',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly relayTransitions = new Counter({
    name: 'relay_transitions_total',
    help: 'Relay status changes committed on this node, by from, to and reason',
    labelNames: ['from', 'to', 'reason'],
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook attempts made by this node, by result (delivered, retry, failed)',
    labelNames: ['result'],
    registers: [this.registry],
  });

  readonly openStreams = new Gauge({
    name: 'event_streams_open',
    help: 'Server-sent event streams open on this node',
    registers: [this.registry],
  });

  constructor(db: Database, events: EventLog) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'relays_active',
      help: 'Relays not yet ended, by status (whole database)',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const rows = await db.read((sql) =>
          sql.rows<{ status: number; n: number }>(RELAYS_ACTIVE_SQL),
        );
        this.reset();
        for (const status of [0, 1, 2, 3, 4]) this.set({ status: String(status) }, 0);
        for (const row of rows) this.set({ status: String(row.status) }, Number(row.n));
      },
    });
    events.onCommitted((event, written) => {
      if (event.type !== 'relay.status_changed') return;
      const data = written as { from: number | null; to: number; reason: string };
      this.relayTransitions.inc({
        from: String(data.from ?? 'none'),
        to: String(data.to),
        reason: data.reason,
      });
    });
  }
}
