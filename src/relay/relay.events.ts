import { ExtendsPatch } from '../common/extends.map';
import { NewEvent } from '../event-log/event-log.service';
import { RelaySessionView, toRelayView } from './relay.dto';
import { RelaySession } from './relay.entity';
import { RelayStatus, StopReason } from './relay.machine';
import { Scores } from './relay.score';

/** The relay's event types and their `data`: one map for every writer and reader. */
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
  s: RelaySession,
  data: Omit<RelayEventData[T], 'session'>,
): NewEvent {
  return {
    type,
    relayId: s.relayId,
    appId: s.appId,
    seq: s.version,
    occurredAt: s.updatedAt,
    data: { ...data, session: toRelayView(s) },
    initUserId: s.initUserId,
    recvUserId: s.recvUserId,
    initRoomId: s.initRoomId,
    recvRoomId: s.recvRoomId,
  };
}
