import { idList, NewEvent } from '../event-log/event-log.service';
import { toRelayView } from './relay.dto';
import { BattleEvent } from './relay-battles';
import { RelayEventData, RelayEventType } from './relay-events.dto';
import { Relay } from './relay.store';

/** An event of the relay as its writer gives it: the type and its data, but the session. */
export type RelayEventBody = {
  [T in RelayEventType]: { type: T; data: Omit<RelayEventData[T], 'session'> };
}[RelayEventType];

/** The event of a change to `s` (already at its new version), with the session as it now is. */
export function relayEvent(s: Relay, e: RelayEventBody): NewEvent {
  return eventOf(s, e.type, e.data);
}

/** A relay.battle_changed event of `s`, whose session shows the battle right after it. */
export function battleEvent(s: Relay, e: BattleEvent): NewEvent {
  return eventOf({ ...s, battle: e.battle }, 'relay.battle_changed', {
    ...e.data,
    battle: e.battle,
  });
}

function eventOf(s: Relay, type: NewEvent['type'], data: object): NewEvent {
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
