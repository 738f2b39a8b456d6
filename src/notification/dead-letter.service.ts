import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { notFound } from '../common/domain.error';
import { Database } from '../database/database.service';
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

  async list(query: ListDeliveriesQuery): Promise<DeliveryListView> {
    const limit = query.limit ?? 20;
    const rows = await this.db.read((sql) =>
      this.deliveries.list(
        sql,
        query.status ?? 'failed',
        query.cursor === undefined ? null : Number(query.cursor),
        limit + 1,
      ),
    );
    const page = rows.slice(0, limit);
    return {
      list: page.map(toDeliveryView),
      next_cursor: rows.length > limit ? String(page[page.length - 1].id) : null,
    };
  }

  async redeliver(id: number): Promise<DeliveryView> {
    const delivery = await this.db.transaction(async (sql) => {
      if (!(await this.deliveries.requeue(sql, id, this.clock.now())))
        throw notFound(`delivery ${id} not found`);
      return this.deliveries.get(sql, id);
    });
    if (!delivery) throw notFound(`delivery ${id} not found`);
    this.dispatcher.wake();
    return toDeliveryView(delivery);
  }
}
