import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Database } from '../database/database.service';
import { EventLog } from '../event-log/event-log.service';
import { Metrics } from '../observability/metrics.service';
import { StatusChangedData } from './relay-events.dto';
import { RelayStore } from './relay.store';

/** The relay's own metrics, kept in the app's registry beside the HTTP ones. */
@Injectable()
export class RelayMetrics {
  readonly transitions: Counter;

  constructor(metrics: Metrics, db: Database, relays: RelayStore, events: EventLog) {
    this.transitions = new Counter({
      name: 'relay_transitions_total',
      help: 'Relay status changes committed on this node, by from, to and reason',
      labelNames: ['from', 'to', 'reason'],
      registers: [metrics.registry],
    });
    new Gauge({
      name: 'relays_active',
      help: 'Relays not yet ended, by status (whole database)',
      labelNames: ['status'],
      registers: [metrics.registry],
      async collect() {
        const rows = await db.read((sql) => relays.countActive(sql));
        this.reset();
        for (const status of [0, 1, 2, 3, 4]) this.set({ status: String(status) }, 0);
        for (const row of rows) this.set({ status: String(row.status) }, row.n);
      },
    });
    events.onCommitted((event, written) => {
      if (event.type !== 'relay.status_changed') return;
      const data = written as StatusChangedData;
      this.transitions.inc({
        from: String(data.from ?? 'none'),
        to: String(data.to),
        reason: data.reason,
      });
    });
  }
}
