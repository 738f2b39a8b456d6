/**
 * Every event type the log records, by name: the vocabulary the configuration, the webhooks and
 * the streams share. The data of each type is described by its owner (relay-events.dto.ts), and
 * the event catalogue (notification/event-catalog.ts) must give a data schema for every name
 * here and no other, so a new type is one entry that the compiler then asks for everywhere.
 */
export const EVENT_TYPES = [
  'relay.status_changed',
  'relay.room_changed',
  'relay.extends_updated',
  'relay.score_changed',
  'relay.battle_changed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
