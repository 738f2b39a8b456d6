import { ExtendsPatch } from '../common/extends.map';
import { idList, NewEvent } from '../event-log/event-log.service';
import { RelaySessionView, toRelayView } from './relay.dto';
import { RelayStatus, RoomReason, RoomState, StopReason } from './relay.machine';
import { Scores } from './relay.score';
import { Relay } from './relay.store';

/** The relay's event types and their `data`: one map for every writer and reader. */
export interface RelayEventData {
  'relay.status_changed': {
    from: RelayStatus | null;
    to: RelayStatus;
    reason: StopReason | '';
    session: RelaySessionView;
  };
  /** Recorded in relays of 3+ rooms only, before the status change the move may cause. */
  'relay.room_changed': {
    room_id: string;
    user_id: string;
    from: RoomState;
    to: RoomState;
    reason: RoomReason | '';
    session: RelaySessionView;
  };
  'relay.extends_updated': {
    changed: ExtendsPatch;
    session: RelaySessionView;
  };
  'relay.score_changed': {
    room_id: string;
    /** New score - old score, also when the request replaced the score. */
    delta: number;
    /** "" when the request had none. */
    score_id: string;
    scores: Scores;
    session: RelaySessionView;
  };
}

/** The event of a change to `s` (already at its new version), with the session as it now is. */
export function relayEvent<T extends keyof RelayEventData>(
  type: T,
  s: Relay,
  data: Omit<RelayEventData[T], 'session'>,
): NewEvent {
  return {
    type,
    relayId: s.relayId,
    appId: s.appId,
    seq: s.version,
    occurredAt: s.updatedAt,
    data: { ...data, session: toRelayView(s) },
    userIds: idList(s.rooms.map((r) => r.userId)),
    roomIds: idList(s.rooms.map((r) => r.roomId)),
  };
}
