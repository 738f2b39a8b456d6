import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { badStatus, notFound } from '../common/domain.error';
import { readPage } from '../common/page';
import { Database } from '../database/database.service';
import { RequestIdentity } from '../observability/request-identity';
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
    private readonly clock: Clock,
  ) {}

  list(query: ListDeliveriesQuery): Promise<DeliveryListView> {
    return readPage(
      query,
      (beforeId, limit) =>
        this.db.read((sql) => this.deliveries.list(sql, query.status ?? 'failed', beforeId, limit)),
      toDeliveryView,
    );
  }

  async redeliver(id: number, who: RequestIdentity): Promise<DeliveryView> {
    const delivery = await this.db.transaction(async (sql) => {
      const found = await this.deliveries.get(sql, id);
      if (!found) throw notFound(`delivery ${id} not found`);
      if (!(await this.deliveries.requeue(sql, id, this.clock.now()))) {
        throw badStatus(`delivery ${id} is still pending; it is retried on its own`);
      }
      return (await this.deliveries.get(sql, id)) ?? found;
    }, who);
    this.dispatcher.wake();
    return toDeliveryView(delivery);
  }
}
