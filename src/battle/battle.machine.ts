/**
 * The battle's phase machine of docs/concepts.md, "Battles", as pure functions: no Nest, no
 * database, no clock of its own. A battle is one timed PK round inside a relay: `invited` (the
 * other rooms answer), `countdown`, `fighting`, `punishment`, `ended`, each phase of length 0
 * skipped. Every function takes the battle, the action and the time, and returns the next battle
 * with the events the move records and its next due time, or a refusal. Phase moves happen at
 * their due time, whoever runs them and however late: `advance` applies every move due by
 * `now`, each at its own due time, so a score that arrives after `fightEndAt` never counts, even
 * before a timer has closed the fight.
 */

export const BATTLE_PHASES = ['invited', 'countdown', 'fighting', 'punishment', 'ended'] as const;
export type BattlePhase = (typeof BATTLE_PHASES)[number];

/** Why a battle ended (`reason`, "" until then). */
export const BATTLE_REASONS = [
  'finished',
  'stopped',
  'admin',
  'cancelled',
  'rejected',
  'invite_timeout',
  'relay_ended',
  'room_left',
] as const;
export type BattleReason = (typeof BATTLE_REASONS)[number];

export const BATTLE_ROOM_STATES = ['invited', 'agreed', 'rejected'] as const;
export type BattleRoomState = (typeof BATTLE_ROOM_STATES)[number];

/** Why a room became rejected: its anchor said no (or withdrew), or it never answered. */
export type BattleRoomReason = '' | 'rejected' | 'invite_timeout';

export interface BattleRoom {
  roomId: string;
  userId: string;
  state: BattleRoomState;
  reason: BattleRoomReason;
  /** The room's battle score: what fighting added to it (or the score it was set to). */
  score: number;
}

/** Who gave the most to a room in a battle (docs/concepts.md, "Contributions"). */
export interface Contributor {
  roomId: string;
  userId: string;
  amount: number;
}

export interface Battle {
  battleNo: number;
  phase: BattlePhase;
  reason: BattleReason | '';
  mode: 'invite' | 'auto';
  /** The starter's room first, then the others in the relay's order. */
  rooms: BattleRoom[];
  countdownS: number;
  durationS: number;
  punishmentS: number;
  createdAt: number;
  /** When rooms still invited are rejected; null once no room is invited. */
  inviteDueAt: number | null;
  /** Known from the moment the countdown begins. */
  fightStartAt: number | null;
  fightEndAt: number | null;
  endedAt: number | null;
  /** Whether the fight has been settled: scores frozen, winner and MVP decided. */
  settled: boolean;
  /** The room with the strictly highest score once settled, else "". */
  winnerRoomId: string;
  mvp: Contributor | null;
}

export interface BattleSettings {
  countdownS: number;
  durationS: number;
  punishmentS: number;
  inviteTimeoutS: number;
}

/** The data of one relay.battle_changed event, without `battle` and `session`. */
export interface BattleChange {
  battle_no: number;
  /** The room that answered; "" for a phase move. */
  room_id: string;
  /** The phase, or for a room's answer its state, before; null when the battle is created. */
  from: BattlePhase | BattleRoomState | null;
  to: BattlePhase | BattleRoomState;
  /** The battle's reason on a move to `ended`, a room's reason on a move to `rejected`. */
  reason: BattleReason | BattleRoomReason;
}

/** An event a move records, with the battle as it is right after that event's change. */
export interface BattleEventSpec {
  battle: Battle;
  data: BattleChange;
}

export interface BattleMoved {
  kind: 'moved';
  next: Battle;
  /** In the order they are recorded: a room's answer before the phase move it causes. */
  events: BattleEventSpec[];
  /** When the battle's next phase move falls due; null once it has ended. */
  due: number | null;
}

export type BattleStep =
  BattleMoved | { kind: 'unchanged' } | { kind: 'refused'; code: 403 | 601; message: string };

const UNCHANGED = { kind: 'unchanged' } as const;
const refuse = (code: 403 | 601, message: string) => ({ kind: 'refused', code, message }) as const;

/** A room that is still part of the battle: agreed, or invited and not yet answered. */
export const takesPart = (room: BattleRoom) => room.state !== 'rejected';

export const isOpen = (b: Battle) => b.phase !== 'ended';

/** When the battle's next phase move falls due, or null when none will. */
export function dueOf(b: Battle): number | null {
  switch (b.phase) {
    case 'invited':
      return b.inviteDueAt;
    case 'countdown':
      return b.fightStartAt;
    case 'fighting':
      return b.fightEndAt;
    case 'punishment':
      return (b.fightEndAt as number) + b.punishmentS * 1000;
    case 'ended':
      return null;
  }
}

/**
 * A new battle of the joined rooms given (the starter's first). `auto`: every room takes part
 * at once and the countdown begins; `invite`: the others are invited. It records its creation
 * (`from: null`) with the phase it starts in.
 */
export function openBattle(
  battleNo: number,
  mode: 'invite' | 'auto',
  members: readonly { roomId: string; userId: string }[],
  settings: BattleSettings,
  now: number,
): BattleMoved {
  const rooms = members.map((m, i): BattleRoom => ({
    roomId: m.roomId,
    userId: m.userId,
    state: i === 0 || mode === 'auto' ? 'agreed' : 'invited',
    reason: '',
    score: 0,
  }));
  const invited: Battle = {
    battleNo,
    phase: 'invited',
    reason: '',
    mode,
    rooms,
    countdownS: settings.countdownS,
    durationS: settings.durationS,
    punishmentS: settings.punishmentS,
    createdAt: now,
    inviteDueAt: mode === 'invite' ? now + settings.inviteTimeoutS * 1000 : null,
    fightStartAt: null,
    fightEndAt: null,
    endedAt: null,
    settled: false,
    winnerRoomId: '',
    mvp: null,
  };
  const next = mode === 'auto' ? beginCountdown(invited, now) : invited;
  return {
    kind: 'moved',
    next,
    events: [{ battle: next, data: phaseChange(next, null) }],
    due: dueOf(next),
  };
}

/** Counting down from `at`, or fighting at once when the countdown is 0. */
function beginCountdown(b: Battle, at: number): Battle {
  const fightStartAt = at + b.countdownS * 1000;
  return {
    ...b,
    phase: b.countdownS > 0 ? 'countdown' : 'fighting',
    inviteDueAt: null,
    fightStartAt,
    fightEndAt: fightStartAt + b.durationS * 1000,
  };
}

const phaseChange = (b: Battle, from: BattlePhase | null): BattleChange => ({
  battle_no: b.battleNo,
  room_id: '',
  from,
  to: b.phase,
  reason: b.phase === 'ended' ? b.reason : '',
});

/** Rooms by score, highest first; ties share a rank (1, 1, 3) and keep the rooms' order. */
export function rankingOf(b: Battle): { roomId: string; score: number; rank: number }[] {
  const rooms = b.rooms.filter(takesPart);
  return [...rooms]
    .sort((x, y) => y.score - x.score)
    .map((room) => ({
      roomId: room.roomId,
      score: room.score,
      rank: 1 + rooms.filter((other) => other.score > room.score).length,
    }));
}

/** The room with the strictly highest score among those taking part, else "". */
export function leaderOf(b: Battle): string {
  const [first, second] = rankingOf(b);
  return first !== undefined && (second === undefined || second.score < first.score)
    ? first.roomId
    : '';
}

/**
 * Whether moving the battle by `now` (and then by `action`, if given) could settle it: the
 * caller then looks up the top contributor of the room that leads, for the MVP.
 */
export function maySettle(b: Battle, now: number, action?: BattleAction['kind']): boolean {
  if (b.settled || b.fightStartAt === null || b.phase === 'ended') return false;
  const fought = now >= b.fightStartAt;
  const timeUp = now >= (b.fightEndAt as number);
  return (
    fought && (timeUp || action === 'stop' || action === 'relay_ended' || action === 'rooms_left')
  );
}

/** Scores frozen: the winner, and the MVP (the winner's top contributor, from `topOf`). */
function settle(b: Battle, topOf: (roomId: string) => Contributor | null): Battle {
  const winnerRoomId = leaderOf(b);
  return {
    ...b,
    settled: true,
    winnerRoomId,
    mvp: winnerRoomId === '' ? null : topOf(winnerRoomId),
  };
}

const noTops = () => null;

/**
 * Applies every phase move due by `now`, in order, each at its own due time (the time it was
 * due, not `now`, starts the next phase). Unchanged when none is due.
 */
export function advance(
  b: Battle,
  now: number,
  topOf: (roomId: string) => Contributor | null = noTops,
): BattleMoved | { kind: 'unchanged' } {
  const events: BattleEventSpec[] = [];
  let at = dueOf(b);
  while (at !== null && at <= now) {
    const from = b.phase;
    switch (b.phase) {
      case 'invited': {
        const rooms = b.rooms.map((room) => room);
        b.rooms.forEach((room, i) => {
          if (room.state !== 'invited') return;
          rooms[i] = { ...room, state: 'rejected', reason: 'invite_timeout' };
          const moved = { ...b, rooms: [...rooms] };
          events.push({
            battle: moved,
            data: {
              battle_no: b.battleNo,
              room_id: room.roomId,
              from: 'invited',
              to: 'rejected',
              reason: 'invite_timeout',
            },
          });
        });
        b = resolveInvitation({ ...b, rooms }, at);
        break;
      }
      case 'countdown':
        b = { ...b, phase: 'fighting' };
        break;
      case 'fighting': {
        const settled = settle(b, topOf);
        b = b.punishmentS > 0 ? { ...settled, phase: 'punishment' } : end(settled, 'finished', at);
        break;
      }
      case 'punishment':
        b = end(b, 'finished', at);
        break;
      case 'ended':
        break;
    }
    events.push({ battle: b, data: phaseChange(b, from) });
    at = dueOf(b);
  }
  return events.length === 0 ? UNCHANGED : { kind: 'moved', next: b, events, due: dueOf(b) };
}

/**
 * Once no room is invited: with at least two rooms agreed the countdown begins (rooms that
 * rejected take no part); otherwise the battle ends, `rejected`, or `invite_timeout` when no
 * room answered at all.
 */
function resolveInvitation(b: Battle, at: number): Battle {
  if (b.rooms.some((room) => room.state === 'invited')) return b;
  if (b.rooms.filter((room) => room.state === 'agreed').length >= 2) return beginCountdown(b, at);
  const answered = b.rooms.some((room, i) => i > 0 && room.reason !== 'invite_timeout');
  return end(b, answered ? 'rejected' : 'invite_timeout', at);
}

function end(b: Battle, reason: BattleReason, at: number): Battle {
  return { ...b, phase: 'ended', reason, endedAt: at, inviteDueAt: null };
}

/** Who acts: the anchor of `rooms[room]` of the battle, the server API, or the relay itself. */
export type BattleAction =
  | { kind: 'accept'; room: number }
  | { kind: 'reject'; room: number }
  | { kind: 'stop'; by: number | 'admin' }
  /** The relay has ended. */
  | { kind: 'relay_ended' }
  /** Rooms left the relay; `stillIn` is every room of the relay that is still in it. */
  | { kind: 'rooms_left'; stillIn: readonly string[] };

/**
 * Every move an action may cause, after the moves due by `now`. A repeated answer (a second
 * accept, a second reject, a stop of an ended battle) is `unchanged`, not an error: apps retry
 * on flaky networks, and a retry must neither fail nor move the battle further.
 */
export function stepBattle(
  b: Battle,
  action: BattleAction,
  now: number,
  topOf: (roomId: string) => Contributor | null = noTops,
): BattleStep {
  const due = advance(b, now, topOf);
  const current = due.kind === 'moved' ? due.next : b;
  const acted = act(current, action, now, topOf);
  if (acted.kind === 'refused') return acted;
  if (acted.kind === 'unchanged') return due.kind === 'moved' ? due : UNCHANGED;
  const events = [...(due.kind === 'moved' ? due.events : []), ...acted.events];
  return { kind: 'moved', next: acted.next, events, due: dueOf(acted.next) };
}

function act(
  b: Battle,
  action: BattleAction,
  now: number,
  topOf: (roomId: string) => Contributor | null,
): BattleStep {
  switch (action.kind) {
    case 'accept':
    case 'reject':
      return answer(b, action.room, action.kind, now);
    case 'stop':
      return stop(b, action.by, now, topOf);
    case 'relay_ended':
      return isOpen(b) ? finish(b, 'relay_ended', now, topOf) : UNCHANGED;
    case 'rooms_left': {
      if (!isOpen(b)) return UNCHANGED;
      const still = b.rooms.filter(
        (room) => takesPart(room) && action.stillIn.includes(room.roomId),
      );
      return still.length < 2 ? finish(b, 'room_left', now, topOf) : UNCHANGED;
    }
  }
}

/** accept: invited -> agreed; reject: invited -> rejected; then the invitation may resolve. */
function answer(b: Battle, index: number, kind: 'accept' | 'reject', now: number): BattleStep {
  const room = b.rooms[index];
  const to: BattleRoomState = kind === 'accept' ? 'agreed' : 'rejected';
  if (room.state === to && (kind === 'accept' || room.reason === 'rejected')) return UNCHANGED;
  if (room.state !== 'invited' || b.phase !== 'invited') {
    return refuse(601, `cannot ${kind} battle ${b.battleNo}: your room is ${room.state}`);
  }
  return moveRoom(b, index, to, now);
}

function moveRoom(b: Battle, index: number, to: BattleRoomState, now: number): BattleMoved {
  const room = b.rooms[index];
  const reason: BattleRoomReason = to === 'rejected' ? 'rejected' : '';
  const rooms = b.rooms.map((r, i) => (i === index ? { ...r, state: to, reason } : r));
  const answered: Battle = { ...b, rooms };
  const events: BattleEventSpec[] = [
    {
      battle: answered,
      data: { battle_no: b.battleNo, room_id: room.roomId, from: room.state, to, reason },
    },
  ];
  const next = resolveInvitation(answered, now);
  if (next.phase !== answered.phase) {
    events.push({ battle: next, data: phaseChange(next, answered.phase) });
  }
  return { kind: 'moved', next, events, due: dueOf(next) };
}

/**
 * The starter's stop cancels an invitation; another room's stop while invited is its refusal;
 * from the countdown on, a stop ends the battle (`stopped`, or `admin` from the server API),
 * settled first when it was fighting.
 */
function stop(
  b: Battle,
  by: number | 'admin',
  now: number,
  topOf: (roomId: string) => Contributor | null,
): BattleStep {
  if (!isOpen(b)) return UNCHANGED;
  if (by !== 'admin' && !takesPart(b.rooms[by])) {
    return refuse(601, `your room takes no part in battle ${b.battleNo}`);
  }
  if (b.phase === 'invited' && by !== 'admin' && by !== 0) {
    return moveRoom(b, by, 'rejected', now);
  }
  const reason: BattleReason =
    by === 'admin' ? 'admin' : b.phase === 'invited' ? 'cancelled' : 'stopped';
  return finish(b, reason, now, topOf);
}

/** Ends an open battle now, settling it first if it was fighting. */
function finish(
  b: Battle,
  reason: BattleReason,
  now: number,
  topOf: (roomId: string) => Contributor | null,
): BattleMoved {
  const settled = b.phase === 'fighting' ? settle(b, topOf) : b;
  const next = end(settled, reason, now);
  return {
    kind: 'moved',
    next,
    events: [{ battle: next, data: phaseChange(next, b.phase) }],
    due: null,
  };
}

/** How a score change touches the battle (docs/concepts.md, "Scores in play"). */
export type BattleScore =
  | { kind: 'out_of_play' }
  | { kind: 'in_play'; next: Battle; relayDelta: number }
  | { kind: 'refused'; code: 400; message: string };

/** The largest battle score a JSON number carries exactly to every client (2^53 - 1). */
const SCORE_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * A change to `roomId`'s score while the battle (already advanced to `now`) is fighting and the
 * room takes part: a delta is added to the battle's score and to the relay's; a score replaces
 * the battle's, and the relay's moves by the same difference. Otherwise out of play.
 */
export function scoreBattle(
  b: Battle,
  roomId: string,
  change: { kind: 'delta' | 'score'; value: number },
  now: number,
): BattleScore {
  const index = b.rooms.findIndex((room) => room.roomId === roomId);
  if (b.phase !== 'fighting' || index < 0 || !takesPart(b.rooms[index])) {
    return { kind: 'out_of_play' };
  }
  if (now >= (b.fightEndAt as number)) return { kind: 'out_of_play' };
  const old = b.rooms[index].score;
  const score = change.kind === 'delta' ? old + change.value : change.value;
  if (Math.abs(score) > SCORE_LIMIT) {
    return {
      kind: 'refused',
      code: 400,
      message: `the battle score of room ${roomId} would leave -${SCORE_LIMIT}..${SCORE_LIMIT}`,
    };
  }
  const rooms = b.rooms.map((room, i) => (i === index ? { ...room, score } : room));
  return { kind: 'in_play', next: { ...b, rooms }, relayDelta: score - old };
}
