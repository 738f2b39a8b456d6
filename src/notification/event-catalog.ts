import { Type } from '@nestjs/common';
import { EventType } from '../common/event-type';
import { BATTLE_EVENT_DATA } from '../battle/battle-events.dto';
import { RELAY_EVENT_DATA } from '../relay/relay-events.dto';

/** A map with exactly one entry per event type: a missing or unknown type does not compile. */
function everyType<M extends Record<EventType, Type<unknown>>>(
  map: M & Record<Exclude<keyof M, EventType>, never>,
): M {
  return map;
}

/**
 * The event catalogue: every event type and the class of its `data`, gathered from the maps of
 * the modules that record them. The writers take their data types from the same classes, and
 * the OpenAPI schemas, the webhooks and the streams take the types from here.
 */
export const EVENT_DATA = everyType({ ...RELAY_EVENT_DATA, ...BATTLE_EVENT_DATA });

/** The `data` of each event type. */
export type EventData = { [T in EventType]: InstanceType<(typeof EVENT_DATA)[T]> };
