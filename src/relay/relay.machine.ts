/**
 * The relay state machine of docs/api.md, "Relays", as one pure function: no Nest, no
 * database, no clock. Services load a snapshot, ask `transition`, and persist what it says.
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

export type StopReason =
  | 'stopped'
  | 'cancelled'
  | 'rejected'
  | 'invite_timeout'
  | 'join_timeout'
  | 'duration_elapsed'
  | 'room_stopped'
  | 'room_offline'
  | 'admin';

/** Who asks: one of the two anchors, or the service itself (timers, rooms, admin API). */
export type Actor = 'init' | 'recv' | 'system';

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
}

export type Transition =
  | { kind: 'moved'; next: RelaySnapshot; from: RelayStatus; reason: StopReason | '' }
  | { kind: 'unchanged' }
  | { kind: 'refused'; code: 403 | 601; message: string };

const UNCHANGED: Transition = { kind: 'unchanged' };

export function isTerminal(status: RelayStatus): boolean {
  return status === RelayStatus.Rejected || status === RelayStatus.Ended;
}

export function openRelay(
  mode: 'auto' | 'invite',
  durationS: number | null,
  now: number,
  timers: RelayTimers,
): RelaySnapshot {
  const agreed = mode === 'auto';
  const s: RelaySnapshot = {
    status: agreed ? RelayStatus.Agreed : RelayStatus.Waiting,
    stopReason: '',
    durationS,
    createdAt: now,
    startAt: agreed ? now : null,
    stopAt: null,
    deadlineAt: null,
  };
  s.deadlineAt = nextDeadline(s, timers)?.at ?? null;
  return s;
}

/** The timer that falls due first for this snapshot, if any. */
export function nextDeadline(
  s: RelaySnapshot,
  timers: RelayTimers,
): { at: number; reason: StopReason } | null {
  const pending: { at: number; reason: StopReason }[] = [];
  if (s.status === RelayStatus.Waiting && timers.inviteTimeoutS > 0) {
    pending.push({ at: s.createdAt + timers.inviteTimeoutS * 1000, reason: 'invite_timeout' });
  }
  if (s.startAt !== null && !isTerminal(s.status)) {
    if (s.status !== RelayStatus.BothJoined && timers.joinTimeoutS > 0) {
      pending.push({ at: s.startAt + timers.joinTimeoutS * 1000, reason: 'join_timeout' });
    }
    if (s.durationS !== null) {
      pending.push({ at: s.startAt + s.durationS * 1000, reason: 'duration_elapsed' });
    }
  }
  if (pending.length === 0) return null;
  return pending.reduce((first, d) => (d.at < first.at ? d : first));
}

function move(
  s: RelaySnapshot,
  to: RelayStatus,
  now: number,
  timers: RelayTimers,
  reason: StopReason | '' = '',
): Transition {
  const next: RelaySnapshot = { ...s, status: to, stopReason: reason };
  if (to === RelayStatus.Agreed) next.startAt = now;
  if (isTerminal(to)) next.stopAt = now;
  next.deadlineAt = nextDeadline(next, timers)?.at ?? null;
  return { kind: 'moved', next, from: s.status, reason };
}

const refuse = (code: 403 | 601, message: string): Transition => ({
  kind: 'refused',
  code,
  message,
});

const statusRefusal = (action: string, s: RelaySnapshot) =>
  refuse(601, `cannot ${action} a relay in status ${s.status}`);

/**
 * Every move the contract allows, and nothing else. Repeating a request that already took
 * effect (a second accept, reject, stop, or a side reporting `started` twice) answers
 * `unchanged` rather than an error: mobile clients retry on flaky networks, and a retry must
 * neither fail nor move the session further (the original server jumped 2 -> 4 when the
 * initiator repeated itself).
 */
export function transition(
  s: RelaySnapshot,
  action: RelayAction,
  actor: Actor,
  now: number,
  timers: RelayTimers,
): Transition {
  const byAnchor = actor !== 'system';
  if ((ANCHOR_ACTIONS as readonly string[]).includes(action) !== byAnchor) {
    return refuse(
      403,
      byAnchor ? `an anchor cannot ${action} a relay` : `${action} needs an anchor`,
    );
  }
  switch (action) {
    case 'accept':
      if (actor !== 'recv') return refuse(403, 'only the receiver anchor can accept');
      if (s.status === RelayStatus.Waiting) return move(s, RelayStatus.Agreed, now, timers);
      return isTerminal(s.status) ? statusRefusal('accept', s) : UNCHANGED;
    case 'reject':
      if (actor !== 'recv') return refuse(403, 'only the receiver anchor can reject');
      if (s.status === RelayStatus.Waiting) {
        return move(s, RelayStatus.Rejected, now, timers, 'rejected');
      }
      return s.status === RelayStatus.Rejected ? UNCHANGED : statusRefusal('reject', s);
    case 'started':
      return onStarted(s, actor, now, timers);
    case 'stop':
      if (isTerminal(s.status)) return UNCHANGED;
      return move(
        s,
        RelayStatus.Ended,
        now,
        timers,
        s.status === RelayStatus.Waiting && actor === 'init' ? 'cancelled' : 'stopped',
      );
    case 'expire': {
      if (isTerminal(s.status)) return UNCHANGED;
      const due = nextDeadline(s, timers);
      if (due === null || due.at > now) return UNCHANGED;
      return move(s, RelayStatus.Ended, now, timers, due.reason);
    }
    case 'room_stopped':
    case 'room_offline':
    case 'admin_stop':
      if (isTerminal(s.status)) return UNCHANGED;
      return move(s, RelayStatus.Ended, now, timers, action === 'admin_stop' ? 'admin' : action);
    default:
      return assertNever(action);
  }
}

function onStarted(s: RelaySnapshot, actor: Actor, now: number, timers: RelayTimers): Transition {
  const mine = actor === 'init' ? RelayStatus.InitJoined : RelayStatus.RecvJoined;
  const theirs = actor === 'init' ? RelayStatus.RecvJoined : RelayStatus.InitJoined;
  switch (s.status) {
    case RelayStatus.Agreed:
      return move(s, mine, now, timers);
    case theirs:
      return move(s, RelayStatus.BothJoined, now, timers);
    case mine:
    case RelayStatus.BothJoined:
      return UNCHANGED;
    default:
      return statusRefusal('report started for', s);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled relay action ${String(value)}`);
}
