/**
 * The relay state machine of docs/concepts.md, "Group relays", as pure functions: no Nest, no
 * database, no clock. The rooms are the state: `moveRoom` moves one room, `deriveStatus` reads
 * the relay's status off its rooms, and `transition` puts the two together for one request.
 * A relay of two rooms is the same code with one receiver.
 */

export enum RelayStatus {
  Waiting = 0,
  Agreed = 1,
  InitJoined = 2,
  RecvJoined = 3,
  BothJoined = 4,
  Rejected = 5,
  Ended = 6,
}

/** Every `stop_reason` (the types below are read off these lists, so the two cannot differ). */
export const STOP_REASONS = [
  'stopped',
  'cancelled',
  'rejected',
  'invite_timeout',
  'join_timeout',
  'duration_elapsed',
  'room_stopped',
  'room_offline',
  'admin',
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export const ROOM_STATES = ['invited', 'agreed', 'joined', 'rejected', 'left'] as const;
export type RoomState = (typeof ROOM_STATES)[number];

/** Why a room became rejected or left. */
export const ROOM_REASONS = [
  'rejected',
  'stopped',
  'invite_timeout',
  'join_timeout',
  'room_stopped',
  'room_offline',
] as const;
export type RoomReason = (typeof ROOM_REASONS)[number];

export interface RoomSnapshot {
  roomId: string;
  userId: string;
  role: 'init' | 'recv';
  state: RoomState;
  reason: RoomReason | '';
  /** When its join timer started: a receiver's accept, the initiator's room when the relay reached 1. */
  agreedAt: number | null;
}

/** Who asks: the anchor of `rooms[i]` (by its index), or the service itself. */
export type Actor = number | 'system';

export const ANCHOR_ACTIONS = ['accept', 'reject', 'started', 'stop'] as const;
export const SYSTEM_ACTIONS = ['expire', 'room_stopped', 'room_offline', 'admin_stop'] as const;
export type AnchorAction = (typeof ANCHOR_ACTIONS)[number];
export type SystemAction = (typeof SYSTEM_ACTIONS)[number];
export type RelayAction = AnchorAction | SystemAction;

/** Seconds; 0 disables that timeout. */
export interface RelayTimers {
  inviteTimeoutS: number;
  joinTimeoutS: number;
}

export interface RelaySnapshot {
  status: RelayStatus;
  stopReason: StopReason | '';
  durationS: number | null;
  createdAt: number;
  startAt: number | null;
  stopAt: number | null;
  deadlineAt: number | null;
  /** The initiator's room first, then the receivers in the order they were invited. */
  rooms: RoomSnapshot[];
}

export interface RoomChange {
  index: number;
  from: RoomState;
  room: RoomSnapshot;
}

/** The data of a relay.status_changed event, without the session (relay-events.dto.ts). */
export interface StatusChange {
  from: RelayStatus | null;
  to: RelayStatus;
  reason: StopReason | '';
}

/** The data of a relay.room_changed event, without the session. */
export interface RoomMoveData {
  room_id: string;
  user_id: string;
  from: RoomState;
  to: RoomState;
  reason: RoomReason | '';
}

/** An event a move records, with the relay as it is right after that event's change. */
export type RelayEventSpec =
  | { type: 'relay.status_changed'; relay: RelaySnapshot; data: StatusChange }
  | { type: 'relay.room_changed'; relay: RelaySnapshot; data: RoomMoveData };

/** What a move does besides changing the relay: the service persists exactly this. */
export interface RelayEffects {
  /** In the order they are recorded: each room's move, then the status change it causes. */
  events: RelayEventSpec[];
  /** Rooms no longer held by this relay (their claim is given up). */
  released: string[];
  /** When the relay's next timer falls due (`next.deadlineAt`). */
  due: number | null;
}

export type Transition =
  | {
      kind: 'moved';
      next: RelaySnapshot;
      from: RelayStatus;
      reason: StopReason | '';
      /** The rooms that moved, in room order. */
      changes: RoomChange[];
      effects: RelayEffects;
    }
  | { kind: 'unchanged' }
  | { kind: 'refused'; code: 403 | 601; message: string };

const UNCHANGED = { kind: 'unchanged' } as const;

export function isTerminal(status: RelayStatus): boolean {
  return status === RelayStatus.Rejected || status === RelayStatus.Ended;
}

/** Agreed, joining or both joined (1-4): rooms are connected, tokens are given, scores move. */
export function isConnected(status: RelayStatus): boolean {
  return status >= RelayStatus.Agreed && status <= RelayStatus.BothJoined;
}

/** A room takes part while invited, agreed or joined; rejected and left rooms are released. */
export function isIn(room: RoomSnapshot): boolean {
  return room.state === 'invited' || isRoomConnected(room);
}

/** Agreed or joined: a room that publishes into the others and takes their streams. */
export function isRoomConnected(room: RoomSnapshot): boolean {
  return room.state === 'agreed' || room.state === 'joined';
}

const refuse = (code: 403 | 601, message: string) => ({ kind: 'refused', code, message }) as const;

type RoomMove =
  { kind: 'moved'; room: RoomSnapshot } | typeof UNCHANGED | ReturnType<typeof refuse>;

/** The moves of one room (docs/concepts.md, "Room states"); the relay's status is not its concern. */
export function moveRoom(
  room: RoomSnapshot,
  action: AnchorAction | 'invite_timeout' | 'join_timeout' | 'room_stopped' | 'room_offline',
  now: number,
): RoomMove {
  const to = (state: RoomState, reason: RoomReason | '' = ''): RoomMove => ({
    kind: 'moved',
    room: { ...room, state, reason, agreedAt: state === 'agreed' ? now : room.agreedAt },
  });
  // A room out of the relay says why (`left (room_offline)`), as an ended relay does.
  const how = room.reason === '' || room.reason === room.state ? '' : ` (${room.reason})`;
  const cannot = () => refuse(601, `cannot ${action} a room that is ${room.state}${how}`);
  switch (action) {
    case 'accept':
      if (room.state === 'invited') return to('agreed');
      return isRoomConnected(room) ? UNCHANGED : cannot();
    case 'reject':
      if (room.state === 'invited') return to('rejected', 'rejected');
      return room.state === 'rejected' ? UNCHANGED : cannot();
    case 'started':
      if (room.state === 'agreed') return to('joined');
      return room.state === 'joined' ? UNCHANGED : cannot();
    case 'stop':
      return isIn(room) ? to('left', 'stopped') : UNCHANGED;
    case 'invite_timeout':
      return room.state === 'invited' ? to('rejected', 'invite_timeout') : UNCHANGED;
    case 'join_timeout':
      return room.state === 'agreed' ? to('left', 'join_timeout') : UNCHANGED;
    case 'room_stopped':
    case 'room_offline':
      return isIn(room) ? to('left', action) : UNCHANGED;
    default:
      return assertNever(action);
  }
}

/** 2 and 3 rank alike: neither follows the other, both lead to 4. */
const RANK: Record<RelayStatus, number> = { 0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 6: 4 };

/**
 * The relay's status once its rooms are as given. `cause` is the reason of the room that went
 * last, which ends the relay when too few rooms remain. Statuses only move forward: a relay at
 * 4 stays at 4 while receivers come and go, and one at 3 whose receiver left stays at 3.
 */
export function deriveStatus(
  prev: RelayStatus,
  rooms: readonly RoomSnapshot[],
  cause: RoomReason | '',
): { status: RelayStatus; reason: StopReason | '' } {
  if (isTerminal(prev)) return { status: prev, reason: '' };
  const [init, ...recvs] = rooms;
  if (init.state === 'left') {
    const cancelled = prev === RelayStatus.Waiting && init.reason === 'stopped';
    return {
      status: RelayStatus.Ended,
      reason: cancelled ? 'cancelled' : init.reason || 'stopped',
    };
  }
  const inCount = rooms.filter(isIn).length;
  if (inCount < 2 && !recvs.some((r) => r.state === 'invited')) {
    if (recvs.every((r) => r.state === 'rejected' && r.reason === 'rejected')) {
      return { status: RelayStatus.Rejected, reason: 'rejected' };
    }
    return { status: RelayStatus.Ended, reason: cause || 'stopped' };
  }
  const initJoined = init.state === 'joined';
  const recvJoined = recvs.some((r) => r.state === 'joined');
  const recvAgreed = recvJoined || recvs.some((r) => r.state === 'agreed');
  const derived =
    initJoined && recvJoined
      ? RelayStatus.BothJoined
      : initJoined
        ? RelayStatus.InitJoined
        : recvJoined
          ? RelayStatus.RecvJoined
          : recvAgreed
            ? RelayStatus.Agreed
            : RelayStatus.Waiting;
  return { status: RANK[derived] > RANK[prev] ? derived : prev, reason: '' };
}

/**
 * A new relay: the initiator's room agreed, receivers invited (`auto`: agreed at once); it
 * records its creation (`from: null`) and falls due at its first timer.
 */
export function openRelay(
  mode: 'auto' | 'invite',
  durationS: number | null,
  now: number,
  timers: RelayTimers,
  members: readonly { roomId: string; userId: string }[],
): { next: RelaySnapshot; effects: RelayEffects } {
  const agreed = mode === 'auto';
  const rooms = members.map((m, i): RoomSnapshot => ({
    roomId: m.roomId,
    userId: m.userId,
    role: i === 0 ? 'init' : 'recv',
    state: i === 0 || agreed ? 'agreed' : 'invited',
    reason: '',
    agreedAt: agreed ? now : null,
  }));
  const s: RelaySnapshot = {
    status: agreed ? RelayStatus.Agreed : RelayStatus.Waiting,
    stopReason: '',
    durationS,
    createdAt: now,
    startAt: agreed ? now : null,
    stopAt: null,
    deadlineAt: null,
    rooms,
  };
  s.deadlineAt = nextDeadline(s, timers)?.at ?? null;
  return {
    next: s,
    effects: {
      events: [
        { type: 'relay.status_changed', relay: s, data: { from: null, to: s.status, reason: '' } },
      ],
      released: [],
      due: s.deadlineAt,
    },
  };
}

interface Due {
  at: number;
  reason: 'invite_timeout' | 'join_timeout' | 'duration_elapsed';
  /** The room it moves; none for the duration, which ends the relay. */
  index?: number;
}

/** Every pending timer of the relay, in the order they fall due (ties: rooms before duration). */
function pendingTimers(s: RelaySnapshot, timers: RelayTimers): Due[] {
  if (isTerminal(s.status)) return [];
  const pending: Due[] = [];
  s.rooms.forEach((room, index) => {
    if (room.state === 'invited' && timers.inviteTimeoutS > 0) {
      pending.push({
        at: s.createdAt + timers.inviteTimeoutS * 1000,
        reason: 'invite_timeout',
        index,
      });
    }
    if (room.state === 'agreed' && room.agreedAt !== null && timers.joinTimeoutS > 0) {
      pending.push({
        at: room.agreedAt + timers.joinTimeoutS * 1000,
        reason: 'join_timeout',
        index,
      });
    }
  });
  if (s.startAt !== null && s.durationS !== null) {
    pending.push({ at: s.startAt + s.durationS * 1000, reason: 'duration_elapsed' });
  }
  return pending.sort((a, b) => a.at - b.at);
}

/** The timer that falls due first for this snapshot, if any. */
export function nextDeadline(
  s: RelaySnapshot,
  timers: RelayTimers,
): { at: number; reason: Due['reason'] } | null {
  const [first] = pendingTimers(s, timers);
  return first ? { at: first.at, reason: first.reason } : null;
}

/**
 * Every move the rules allow for one request, and nothing else. Repeating a request that
 * already took effect (a second accept, reject, stop, or `started`) answers `unchanged` rather
 * than an error: mobile clients retry on flaky networks, and a retry must neither fail nor move
 * the relay further (the original server jumped 2 -> 4 when the initiator repeated itself).
 * `room` names the room a system action is about (a room stopped or gone silent).
 */
export function transition(
  s: RelaySnapshot,
  action: RelayAction,
  actor: Actor,
  now: number,
  timers: RelayTimers,
  room?: number,
): Transition {
  const byAnchor = actor !== 'system';
  if ((ANCHOR_ACTIONS as readonly string[]).includes(action) !== byAnchor) {
    return refuse(
      403,
      byAnchor ? `an anchor cannot ${action} a relay` : `${action} needs an anchor`,
    );
  }
  const ended = isTerminal(s.status);
  switch (action) {
    case 'accept':
    case 'reject': {
      const index = actor as number;
      if (index === 0) return refuse(403, `only a receiver anchor can ${action}`);
      const own = s.rooms[index];
      if (ended && !(action === 'reject' && own.state === 'rejected')) {
        return statusRefusal(action, s);
      }
      return moveRooms(s, [index], action, now, timers);
    }
    case 'started':
      if (s.status === RelayStatus.Waiting || ended) return statusRefusal('report started for', s);
      return moveRooms(s, [actor as number], action, now, timers);
    case 'stop':
      if (ended) return UNCHANGED;
      return moveRooms(s, [actor as number], action, now, timers);
    case 'room_stopped':
    case 'room_offline':
      if (ended || room === undefined) return UNCHANGED;
      return moveRooms(s, [room], action, now, timers);
    case 'admin_stop':
      return ended ? UNCHANGED : end(s, 'admin', now, []);
    case 'expire':
      return expire(s, now, timers);
    default:
      return assertNever(action);
  }
}

const statusRefusal = (action: string, s: RelaySnapshot) =>
  refuse(601, `cannot ${action} a relay in ${statusPhrase(s)}`);

/**
 * "status 1", or for an ended relay "status 6 (relay ended: invite_timeout)": a refusal on an
 * ended relay says how it ended, since the caller usually missed that event (a timer, the other
 * anchor, a silent room) and would otherwise not know why its request came too late.
 */
export function statusPhrase(s: Pick<RelaySnapshot, 'status' | 'stopReason'>): string {
  if (!isTerminal(s.status) || s.stopReason === '') return `status ${s.status}`;
  return `status ${s.status} (relay ended: ${s.stopReason})`;
}

/** Moves the given rooms one after another, then derives the relay's status from them all. */
function moveRooms(
  s: RelaySnapshot,
  indexes: number[],
  action: Parameters<typeof moveRoom>[1],
  now: number,
  timers: RelayTimers,
): Transition {
  const rooms = [...s.rooms];
  const changes: RoomChange[] = [];
  for (const index of indexes) {
    const m = moveRoom(rooms[index], action, now);
    if (m.kind === 'refused') return m;
    if (m.kind === 'unchanged') continue;
    changes.push({ index, from: rooms[index].state, room: m.room });
    rooms[index] = m.room;
  }
  return settle(s, rooms, changes, now, timers);
}

/** The relay after its rooms moved: its status re-derived, start and stop times, next timer. */
function settle(
  s: RelaySnapshot,
  rooms: RoomSnapshot[],
  changes: RoomChange[],
  now: number,
  timers: RelayTimers,
): Transition {
  if (changes.length === 0) return UNCHANGED;
  const cause = changes[changes.length - 1].room.reason;
  const { status, reason } = deriveStatus(s.status, rooms, cause);
  const next: RelaySnapshot = { ...s, rooms, status, stopReason: reason };
  if (s.startAt === null && status !== RelayStatus.Waiting && !isTerminal(status)) {
    next.startAt = now;
    next.rooms = rooms.map((r) => (r.role === 'init' ? { ...r, agreedAt: now } : r));
  }
  if (isTerminal(status)) next.stopAt = now;
  next.deadlineAt = nextDeadline(next, timers)?.at ?? null;
  return moved(s, next, s.status, reason, changes);
}

/**
 * A move and its effects. In relays started with 3+ rooms each room's move is an event of its
 * own, recorded before the status change it causes, with the relay as it was right after that
 * room moved; relays of two rooms record the status change only. An ended relay releases every
 * room, those that left before too (for them the release matches nothing), so that no path can
 * leave a room claimed by a relay that is over; otherwise the rooms that stopped being in.
 */
function moved(
  s: RelaySnapshot,
  next: RelaySnapshot,
  from: RelayStatus,
  reason: StopReason | '',
  changes: RoomChange[],
): Transition {
  const events: RelayEventSpec[] = [];
  if (s.rooms.length > 2) {
    let rooms = s.rooms;
    for (const c of changes) {
      rooms = rooms.map((r, i) => (i === c.index ? c.room : r));
      events.push({
        type: 'relay.room_changed',
        relay: { ...s, rooms },
        data: {
          room_id: c.room.roomId,
          user_id: c.room.userId,
          from: c.from,
          to: c.room.state,
          reason: c.room.reason,
        },
      });
    }
  }
  if (next.status !== s.status) {
    events.push({
      type: 'relay.status_changed',
      relay: next,
      data: { from, to: next.status, reason },
    });
  }
  const released = isTerminal(next.status)
    ? next.rooms.map((r) => r.roomId)
    : changes.filter((c) => isIn(s.rooms[c.index]) && !isIn(c.room)).map((c) => c.room.roomId);
  return {
    kind: 'moved',
    next,
    from,
    reason,
    changes,
    effects: { events, released, due: next.deadlineAt },
  };
}

/**
 * Ends the relay with its rooms as they are in `s`; `before` is the relay before this request,
 * whose rooms `changes` moved.
 */
function end(
  s: RelaySnapshot,
  reason: StopReason,
  now: number,
  changes: RoomChange[],
  before = s,
): Transition {
  const next: RelaySnapshot = {
    ...s,
    status: RelayStatus.Ended,
    stopReason: reason,
    stopAt: now,
    deadlineAt: null,
  };
  return moved(before, next, before.status, reason, changes);
}

/**
 * Fires every timer due by `now`, in due order: rooms whose invitation or join time ran out
 * move, and the duration ends the relay; a duration that fell due before any room's timer ends
 * it with those rooms as they were.
 */
function expire(s: RelaySnapshot, now: number, timers: RelayTimers): Transition {
  const due = pendingTimers(s, timers).filter((d) => d.at <= now);
  if (due.length === 0) return UNCHANGED;
  if (due[0].reason === 'duration_elapsed') return end(s, 'duration_elapsed', now, []);
  const rooms = [...s.rooms];
  const changes: RoomChange[] = [];
  for (const d of due) {
    if (d.index === undefined) continue;
    const m = moveRoom(rooms[d.index], d.reason as 'invite_timeout' | 'join_timeout', now);
    if (m.kind !== 'moved') continue;
    changes.push({ index: d.index, from: rooms[d.index].state, room: m.room });
    rooms[d.index] = m.room;
  }
  changes.sort((a, b) => a.index - b.index);
  const t = settle(s, rooms, changes, now, timers);
  const durationDue = due.some((d) => d.reason === 'duration_elapsed');
  if (t.kind === 'moved' && durationDue && !isTerminal(t.next.status)) {
    return end(t.next, 'duration_elapsed', now, t.changes, s);
  }
  return t;
}

function assertNever(value: never): never {
  throw new Error(`unhandled relay action ${String(value)}`);
}
