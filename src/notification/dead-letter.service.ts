import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { badStatus, notFound } from '../common/domain.error';
import { readPage } from '../common/page';
import { Database } from '../database/database.service';
import { EventLog } from '../event-log/event-log.service';
import { RequestIdentity } from '../common/request-identity';
import {
  DeliveryListView,
  DeliveryView,
  ListDeliveriesQuery,
  toDeliveryView,
} from './dead-letter.dto';
import { WebhookDeliveryStore } from './webhook-delivery.store';
import { WebhookDispatcher } from './webhook.dispatcher';

/** The operator's view of webhook deliveries: list them by status, send one again. */
@Injectable()
export class DeadLetterService {
  constructor(
    private readonly db: Database,
    private readonly deliveries: WebhookDeliveryStore,
    private readonly dispatcher: WebhookDispatcher,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  async list(query: ListDeliveriesQuery): Promise<DeliveryListView> {
    const page = await readPage(
      query,
      (beforeId, limit) =>
        this.db.read((sql) => this.deliveries.list(sql, query.status ?? 'failed', beforeId, limit)),
      (d) => d,
    );
    const events = new Map(
      (await this.events.byIds([...new Set(page.list.map((d) => d.eventId))])).map((e) => [
        Number(e.id),
        e,
      ]),
    );
    // A delivery is deleted before its event (retention), so each listed one has its event.
    return {
      list: page.list.flatMap((d) => {
        const event = events.get(d.eventId);
        return event === undefined ? [] : [toDeliveryView(d, event)];
      }),
      next_cursor: page.next_cursor,
    };
  }

  async redeliver(id: number, who: RequestIdentity): Promise<DeliveryView> {
    const delivery = await this.db.transaction(async (sql) => {
      const found = await this.deliveries.get(sql, id);
      if (!found) throw notFound(`delivery ${id} not found`);
      if (!(await this.deliveries.requeue(sql, found, this.clock.now()))) {
        throw badStatus(`delivery ${id} is still pending; it is retried on its own`);
      }
      return (await this.deliveries.get(sql, id)) ?? found;
    }, who);
    this.dispatcher.wake();
    const [event] = await this.events.byIds([delivery.eventId]);
    if (!event) throw notFound(`delivery ${id} not found`);
    return toDeliveryView(delivery, event);
  }
}
