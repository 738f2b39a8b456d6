import { Injectable } from '@nestjs/common';
import { Database, Sql, SqlReader } from '../database/database.service';
import { marks, Table } from '../database/table';
import { DeliveryStatus } from './webhook-delivery.entity';

/** One event to one URL, with its whole retry state. */
export interface Delivery {
  id: number;
  eventId: number;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due; while one is in flight, the end of its lease. */
  nextAttemptAt: number;
  lastError: string;
  deliveredAt: number | null;
  /** The `traceparent` its POSTs carry ('' for deliveries queued before it was kept). */
  traceparent: string;
  createdAt: number;
  updatedAt: number;
}

const DELIVERY = new Table<Delivery>('webhook_delivery', {
  id: { name: 'id', number: true },
  eventId: { name: 'event_id', number: true },
  url: 'url',
  status: 'status',
  attempts: { name: 'attempts', number: true },
  nextAttemptAt: { name: 'next_attempt_at', number: true },
  lastError: 'last_error',
  deliveredAt: { name: 'delivered_at', number: true },
  traceparent: 'traceparent',
  createdAt: { name: 'created_at', number: true },
  updatedAt: { name: 'updated_at', number: true },
});

const SELECT = `SELECT ${DELIVERY.select()} FROM webhook_delivery`;
const INSERT = DELIVERY.insert(['id']);
const COMPLETE = DELIVERY.update(
  ['status', 'attempts', 'nextAttemptAt', 'lastError', 'deliveredAt', 'updatedAt'],
  'id = ? AND next_attempt_at = ?',
);
const REQUEUE = DELIVERY.update(
  ['status', 'attempts', 'nextAttemptAt', 'lastError', 'deliveredAt', 'updatedAt'],
  "id = ? AND status <> 'pending'",
);

export type AttemptResult = Pick<
  Delivery,
  'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'deliveredAt'
>;

/** SQL for webhook deliveries: one row per event and URL, holding its whole retry state. */
@Injectable()
export class WebhookDeliveryStore {
  constructor(private readonly db: Database) {}

  /** A delivery of each event to each URL, due at once, carrying the event's trace. */
  async queue(
    sql: Sql,
    events: readonly { id: number; occurredAt: number; traceparent: string }[],
    urls: string[],
  ): Promise<void> {
    const rows = events.flatMap((event) =>
      urls.map((url): Delivery => ({
        id: 0,
        eventId: event.id,
        url,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: event.occurredAt,
        lastError: '',
        deliveredAt: null,
        traceparent: event.traceparent,
        createdAt: event.occurredAt,
        updatedAt: event.occurredAt,
      })),
    );
    await sql.run(
      INSERT.rows(rows.length),
      rows.flatMap((row) => INSERT.params(row)),
    );
  }

  /** Pending deliveries whose attempt is due, oldest first; served by idx_webhook_delivery_due. */
  async findDue(sql: SqlReader, now: number, limit: number): Promise<number[]> {
    const rows = await sql.rows<{ id: number }>(
      "SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
      [now, limit],
    );
    return rows.map((r) => Number(r.id));
  }

  /**
   * Takes a due delivery for one attempt by moving its next attempt to the end of a lease:
   * of all nodes that try, exactly one changes the row. A node that dies mid-attempt leaves
   * the row due again once the lease is over.
   */
  async claim(sql: Sql, id: number, now: number, leaseUntil: number): Promise<boolean> {
    const changed = await sql.run(
      "UPDATE webhook_delivery SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
      [leaseUntil, now, id, now],
    );
    return changed === 1;
  }

  /** Records an attempt's outcome, unless the lease ran out and another node took over. */
  async complete(
    sql: Sql,
    d: Delivery,
    leaseUntil: number,
    r: AttemptResult,
    now: number,
  ): Promise<void> {
    const next: Delivery = { ...d, ...r, lastError: r.lastError.slice(0, 1024), updatedAt: now };
    await sql.run(COMPLETE.sql, COMPLETE.params(next, d.id, leaseUntil));
  }

  async get(sql: SqlReader, id: number): Promise<Delivery | null> {
    const rows = await sql.rows<Delivery>(`${SELECT} WHERE id = ?`, [id]);
    return rows.length > 0 ? DELIVERY.read(rows[0]) : null;
  }

  /** Newest first; served by idx_webhook_delivery_status. */
  async list(
    sql: SqlReader,
    status: DeliveryStatus,
    beforeId: number | null,
    limit: number,
  ): Promise<Delivery[]> {
    const rows = await sql.rows<Delivery>(
      `${SELECT} WHERE status = ?${beforeId === null ? '' : ' AND id < ?'} ORDER BY id DESC LIMIT ?`,
      beforeId === null ? [status, limit] : [status, beforeId, limit],
    );
    return rows.map((row) => DELIVERY.read(row));
  }

  /**
   * Queues a finished (failed or delivered) delivery again from its first attempt. A pending
   * one is left alone: it may be in flight, and two attempts at once would both be sent.
   */
  async requeue(sql: Sql, d: Delivery, now: number): Promise<boolean> {
    const again: Delivery = {
      ...d,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lastError: '',
      deliveredAt: null,
      updatedAt: now,
    };
    return (await sql.run(REQUEUE.sql, REQUEUE.params(again, d.id))) === 1;
  }

  /**
   * Deletes the finished (delivered or failed) deliveries of events about to be deleted, and
   * answers the events that still have a pending one, which must stay. Locking every delivery of
   * these events makes the check final: a redelivery (which turns a finished delivery back to
   * pending) waits for this transaction, then finds the delivery gone.
   */
  async purge(sql: Sql, eventIds: number[]): Promise<number[]> {
    const rows = await sql.rows<{ eventId: number; status: DeliveryStatus }>(
      `SELECT event_id AS eventId, status FROM webhook_delivery WHERE event_id IN (${marks(eventIds)})` +
        this.db.forUpdate,
      eventIds,
    );
    const pending = new Set(
      rows.filter((d) => d.status === 'pending').map((d) => Number(d.eventId)),
    );
    const finished = eventIds.filter((id) => !pending.has(id));
    if (finished.length > 0) {
      await sql.run(
        `DELETE FROM webhook_delivery WHERE event_id IN (${marks(finished)})`,
        finished,
      );
    }
    return [...pending];
  }
}
