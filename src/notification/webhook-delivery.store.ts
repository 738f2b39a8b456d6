import { Injectable } from '@nestjs/common';
import { Sql, SqlReader } from '../database/database.service';
import { EventRecord } from '../event-log/event-log.service';
import { DeliveryStatus } from './webhook-delivery.entity';

/** A delivery with its event, as the dispatcher sends it and the dead-letter API lists it. */
export interface DeliveryWithEvent {
  id: number;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string;
  event: EventRecord;
}

const SELECT =
  'SELECT d.id, d.url, d.status, d.attempts, d.next_attempt_at AS nextAttemptAt, d.last_error AS lastError, ' +
  'e.id AS eventId, e.type, e.relay_id AS relayId, e.app_id AS appId, e.seq, e.occurred_at AS occurredAt, e.data ' +
  'FROM webhook_delivery d JOIN relay_event e ON e.id = d.event_id';

type Row = Omit<DeliveryWithEvent, 'event'> & {
  eventId: number;
  type: string;
  relayId: string;
  appId: string;
  seq: number;
  occurredAt: number;
  data: string;
};

function toDelivery(r: Row): DeliveryWithEvent {
  return {
    id: Number(r.id),
    url: r.url,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.nextAttemptAt),
    lastError: r.lastError,
    event: {
      id: Number(r.eventId),
      type: r.type,
      relayId: r.relayId,
      appId: r.appId,
      seq: Number(r.seq),
      occurredAt: Number(r.occurredAt),
      data: r.data,
    },
  };
}

export interface AttemptResult {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string;
  deliveredAt: number | null;
}

/** SQL for webhook deliveries: one row per event and URL, holding its whole retry state. */
@Injectable()
export class WebhookDeliveryStore {
  async queue(sql: Sql, eventId: number, urls: string[], now: number): Promise<void> {
    await sql.run(
      'INSERT INTO webhook_delivery (event_id, url, status, attempts, next_attempt_at, last_error, delivered_at, ' +
        `created_at, updated_at) VALUES ${urls.map(() => "(?, ?, 'pending', 0, ?, '', NULL, ?, ?)").join(', ')}`,
      urls.flatMap((url) => [eventId, url, now, now, now]),
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
    id: number,
    leaseUntil: number,
    r: AttemptResult,
    now: number,
  ): Promise<void> {
    await sql.run(
      'UPDATE webhook_delivery SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?, ' +
        'updated_at = ? WHERE id = ? AND next_attempt_at = ?',
      [
        r.status,
        r.attempts,
        r.nextAttemptAt,
        r.lastError.slice(0, 1024),
        r.deliveredAt,
        now,
        id,
        leaseUntil,
      ],
    );
  }

  async get(sql: SqlReader, id: number): Promise<DeliveryWithEvent | null> {
    const rows = await sql.rows<Row>(`${SELECT} WHERE d.id = ?`, [id]);
    return rows.length > 0 ? toDelivery(rows[0]) : null;
  }

  /** Newest first; served by idx_webhook_delivery_status. */
  async list(
    sql: SqlReader,
    status: DeliveryStatus,
    beforeId: number | null,
    limit: number,
  ): Promise<DeliveryWithEvent[]> {
    const rows = await sql.rows<Row>(
      `${SELECT} WHERE d.status = ?${beforeId === null ? '' : ' AND d.id < ?'} ORDER BY d.id DESC LIMIT ?`,
      beforeId === null ? [status, limit] : [status, beforeId, limit],
    );
    return rows.map(toDelivery);
  }

  /**
   * Queues a finished (failed or delivered) delivery again from its first attempt. A pending
   * one is left alone: it may be in flight, and two attempts at once would both be sent.
   */
  async requeue(sql: Sql, id: number, now: number): Promise<boolean> {
    const changed = await sql.run(
      "UPDATE webhook_delivery SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = '', " +
        "delivered_at = NULL, updated_at = ? WHERE id = ? AND status <> 'pending'",
      [now, now, id],
    );
    return changed === 1;
  }
}
