import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RequestObserver } from '../common/http.setup';

/**
 * The Prometheus registry of this app and the metrics of the HTTP layer and the notifications.
 * One registry per app instance, not prom-client's global one, so several apps in one process
 * (the e2e suite) never mix their figures. Features add their own metrics to `registry`.
 */
@Injectable()
export class Metrics implements RequestObserver {
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

  readonly lateEvents = new Counter({
    name: 'event_stream_late_events_total',
    help: 'Events that committed after the stream feed had passed their id, so sent out of id order',
    registers: [this.registry],
  });

  /**
   * The series of each (method, route, status), looked up once: prom-client otherwise hashes
   * the label object on every request. Routes are templates, so the map stays small.
   */
  private readonly series = new Map<
    string,
    { requests: ReturnType<Counter['labels']>; duration: ReturnType<Histogram['labels']> }
  >();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  answered(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let one = this.series.get(key);
    if (one === undefined) {
      const labels = [method, route, String(status)];
      one = {
        requests: this.httpRequests.labels(...labels),
        duration: this.httpDuration.labels(...labels),
      };
      this.series.set(key, one);
    }
    one.requests.inc();
    one.duration.observe(seconds);
  }
}
