import { Injectable } from '@nestjs/common';
import { Sql } from '../database/database.service';
import { ExtendsPatch } from '../common/extends.map';
import { RelaySessionView } from './relay.dto';
import { RelayStatus, StopReason } from './relay.machine';

/** The event types and their `data`, one map for every writer and reader of the log. */
export interface RelayEventData {
  'relay.status_changed': {
    from: RelayStatus | null;
    to: RelayStatus;
    reason: StopReason | '';
    session: RelaySessionView;
  };
  'relay.extends_updated': {
    changed: ExtendsPatch;
    session: RelaySessionView;
  };
}

export type RelayEventType = keyof RelayEventData;

/** Appends to the event log inside the caller's transaction, never after it. */
@Injectable()
export class RelayEventStore {
  async append<T extends RelayEventType>(
    sql: Sql,
    type: T,
    session: { relayId: string; appId: string; version: number; updatedAt: number },
    data: RelayEventData[T],
  ): Promise<void> {
    await sql.run(
      'INSERT INTO relay_event (type, relay_id, app_id, seq, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)',
      [
        type,
        session.relayId,
        session.appId,
        session.version,
        session.updatedAt,
        JSON.stringify(data),
      ],
    );
  }
}
