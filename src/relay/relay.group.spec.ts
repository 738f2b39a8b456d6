import {
  ANCHOR_ACTIONS,
  deriveStatus,
  moveRoom,
  nextDeadline,
  openRelay,
  RelaySnapshot,
  RelayStatus,
  RelayTimers,
  ROOM_STATES,
  RoomReason,
  RoomSnapshot,
  RoomState,
  StopReason,
  SYSTEM_ACTIONS,
  transition,
  Transition,
} from './relay.machine';

/*
 * Group relays (docs/concepts.md, "Group relays") against the pure machine:
 * one room's moves, the relay's status read off every combination of rooms, and whole lives
 * of 3- and 4-room relays. Fixed clock: T0 is when the relay was created.
 */

const T0 = 1_800_000_000_000;
/** `sec(5)` is five seconds after the relay was created. */
const sec = (s: number) => T0 + s * 1000;
const NOW = sec(5);
const TIMERS: RelayTimers = { inviteTimeoutS: 30, joinTimeoutS: 60 };
const MEMBERS = [
  { roomId: 'room_a', userId: 'alice' },
  { roomId: 'room_b', userId: 'bob' },
  { roomId: 'room_c', userId: 'carol' },
  { roomId: 'room_d', userId: 'dave' },
];
const TRIO = MEMBERS.slice(0, 3);
const QUARTET = MEMBERS.slice(0, 4);
/** Rooms by index: A the initiator's, then the receivers B, C, D. */
const A = 0;
const B = 1;
const C = 2;
const D = 3;

const STATES: RoomState[] = ['invited', 'agreed', 'joined', 'rejected', 'left'];
const ROOM_ACTIONS = [
  'accept',
  'reject',
  'started',
  'stop',
  'invite_timeout',
  'join_timeout',
  'room_stopped',
  'room_offline',
] as const;
type RoomAction = (typeof ROOM_ACTIONS)[number];

/** A room as `state` or `state reason`. */
const show = (r: Pick<RoomSnapshot, 'state' | 'reason'>) =>
  r.reason ? `${r.state} ${r.reason}` : r.state;
const roomsOf = (s: RelaySnapshot) => s.rooms.map(show);

/** '=' unchanged, '403'/'601' refused, else the new status and, for 5/6, the reason. */
function outcome(t: Transition): string {
  if (t.kind === 'unchanged') return '=';
  if (t.kind === 'refused') return String(t.code);
  return t.reason ? `${t.next.status} ${t.reason}` : String(t.next.status);
}

type Moved = Extract<Transition, { kind: 'moved' }>;

function moved(t: Transition): Moved {
  expect(t.kind).toBe('moved');
  if (t.kind !== 'moved') throw new Error(`expected a move, got ${outcome(t)}`);
  return t;
}

/** The rooms that moved, in order: `index: from -> to [reason]`. */
const changesOf = (t: Moved) => t.changes.map((c) => `${c.index}: ${c.from} -> ${show(c.room)}`);

describe('group relays: one room (moveRoom)', () => {
  /** A receiver's room in each state, as it would be once it got there. */
  function roomIn(state: RoomState): RoomSnapshot {
    return {
      roomId: 'room_b',
      userId: 'bob',
      role: 'recv',
      state,
      reason: state === 'rejected' ? 'rejected' : state === 'left' ? 'stopped' : '',
      agreedAt: state === 'agreed' || state === 'joined' || state === 'left' ? T0 : null,
    };
  }

  // Section 10, "Room moves"; stop / stopped / offline of a room no longer in: no change
  // (design item 4); the timers move only the rooms they are about (design item 6).
  const table: Record<RoomState, Record<RoomAction, string>> = {
    invited: {
      accept: 'agreed',
      reject: 'rejected rejected',
      started: '601',
      stop: 'left stopped',
      invite_timeout: 'rejected invite_timeout',
      join_timeout: '=',
      room_stopped: 'left room_stopped',
      room_offline: 'left room_offline',
    },
    agreed: {
      accept: '=',
      reject: '601',
      started: 'joined',
      stop: 'left stopped',
      invite_timeout: '=',
      join_timeout: 'left join_timeout',
      room_stopped: 'left room_stopped',
      room_offline: 'left room_offline',
    },
    joined: {
      accept: '=',
      reject: '601',
      started: '=',
      stop: 'left stopped',
      invite_timeout: '=',
      join_timeout: '=',
      room_stopped: 'left room_stopped',
      room_offline: 'left room_offline',
    },
    rejected: {
      accept: '601',
      reject: '=',
      started: '601',
      stop: '=',
      invite_timeout: '=',
      join_timeout: '=',
      room_stopped: '=',
      room_offline: '=',
    },
    left: {
      accept: '601',
      reject: '601',
      started: '601',
      stop: '=',
      invite_timeout: '=',
      join_timeout: '=',
      room_stopped: '=',
      room_offline: '=',
    },
  };
  const rows = STATES.flatMap((state) =>
    ROOM_ACTIONS.map((action) => [state, action, table[state][action]] as const),
  );

  it('knows exactly the five room states', () => {
    expect([...ROOM_STATES].sort()).toEqual([...STATES].sort());
  });

  it.each(rows)('a room %s + %s -> %s', (state, action, expected) => {
    const room = Object.freeze(roomIn(state));
    const before = { ...room };
    const m = moveRoom(room, action, NOW);
    expect(m.kind === 'moved' ? show(m.room) : m.kind === 'unchanged' ? '=' : String(m.code)).toBe(
      expected,
    );
    if (m.kind === 'moved') {
      // Only state and reason move; agreedAt is set to now by accept and kept by every other move.
      expect(m.room).toEqual({
        ...before,
        state: m.room.state,
        reason: m.room.reason,
        agreedAt: action === 'accept' ? NOW : before.agreedAt,
      });
    }
    expect(room).toEqual(before);
  });
});

describe('group relays: status from the rooms (deriveStatus) against section 10', () => {
  /**
   * Section 10, "Relay status from its rooms", with design item 5, written from their wording
   * and nothing else. Terminal relays do not move.
   */
  function oracle(
    prev: RelayStatus,
    rooms: readonly RoomSnapshot[],
    cause: RoomReason | '',
  ): { status: RelayStatus; reason: StopReason | '' } {
    if (prev === 5 || prev === 6) return { status: prev, reason: '' };
    const initiator = rooms[0];
    const receivers = rooms.slice(1);
    const inRelay = (r: RoomSnapshot) => ['invited', 'agreed', 'joined'].includes(r.state);
    // "the initiator's room leaves (stopped, offline, join timeout: that reason)";
    // "the initiator stops it (cancelled from 0, else stopped)".
    if (initiator.state === 'left') {
      if (initiator.reason === 'stopped') {
        return { status: 6, reason: prev === 0 ? 'cancelled' : 'stopped' };
      }
      return { status: 6, reason: initiator.reason };
    }
    // "fewer than two rooms are in and no receiver is still invited (the reason of the last
    // room to go); but when every receiver rejected explicitly, it ends at 5 (rejected)".
    const stillInvited = receivers.filter((r) => r.state === 'invited').length;
    if (rooms.filter(inRelay).length <= 1 && stillInvited === 0) {
      const explicit = receivers.filter((r) => r.state === 'rejected' && r.reason === 'rejected');
      if (explicit.length === receivers.length) return { status: 5, reason: 'rejected' };
      return { status: 6, reason: cause };
    }
    // "0 while no receiver has agreed; 1 once one has, until a room joins; 2 when the
    // initiator has joined and no receiver; 3 when a receiver has joined and not the initiator;
    // 4 when the initiator and at least one receiver have joined." Where these overlap (the
    // initiator joined while no receiver is agreed or joined, which needs the relay to have
    // reached 1 first), the joined rooms decide.
    const initiatorJoined = initiator.state === 'joined';
    const receiverJoined = receivers.some((r) => r.state === 'joined');
    const receiverAgreed = receivers.some((r) => r.state === 'agreed');
    let fromRooms: RelayStatus;
    if (initiatorJoined) fromRooms = receiverJoined ? 4 : 2;
    else if (receiverJoined) fromRooms = 3;
    else fromRooms = receiverAgreed ? 1 : 0;
    // "Statuses only move forward": 0 < 1 < 2 = 3 < 4 (a relay at 3 never becomes 2 or 1).
    const order = [[0], [1], [2, 3], [4]];
    const step = (s: RelayStatus) => order.findIndex((group) => group.includes(s));
    return { status: step(fromRooms) > step(prev) ? fromRooms : prev, reason: '' };
  }

  type Variant = Pick<RoomSnapshot, 'state' | 'reason'>;
  const LEFT: Variant[] = (
    ['stopped', 'join_timeout', 'room_stopped', 'room_offline'] as const
  ).map((reason) => ({ state: 'left', reason }));
  /** Every state a receiver's room can be in, with every reason it can have got there for. */
  const RECEIVER: Variant[] = [
    { state: 'invited', reason: '' },
    { state: 'agreed', reason: '' },
    { state: 'joined', reason: '' },
    { state: 'rejected', reason: 'rejected' },
    { state: 'rejected', reason: 'invite_timeout' },
    ...LEFT,
  ];
  /**
   * The initiator's room starts agreed; accept and reject by it are refused (403) and the
   * invite timeout moves only invited rooms, so it is never invited or rejected: it is agreed,
   * joined or left (for any of the reasons a room leaves).
   */
  const INITIATOR: Variant[] = [
    { state: 'agreed', reason: '' },
    { state: 'joined', reason: '' },
    ...LEFT,
  ];

  /** Every combination of rooms for a relay of `size` rooms. */
  function combinations(size: number): RoomSnapshot[][] {
    let all: RoomSnapshot[][] = [[]];
    for (let i = 0; i < size; i++) {
      const variants = i === 0 ? INITIATOR : RECEIVER;
      all = all.flatMap((rooms) =>
        variants.map((v) => [
          ...rooms,
          {
            ...MEMBERS[i],
            role: i === 0 ? ('init' as const) : ('recv' as const),
            state: v.state,
            reason: v.reason,
            agreedAt: v.state === 'invited' || v.state === 'rejected' ? null : T0,
          },
        ]),
      );
    }
    return all;
  }

  /** The last room to go is one of the rooms that are out: each of their reasons in turn. */
  function causes(rooms: readonly RoomSnapshot[]): (RoomReason | '')[] {
    const out = rooms.filter((r) => r.state === 'rejected' || r.state === 'left');
    return out.length === 0 ? [''] : [...new Set(out.map((r) => r.reason))];
  }

  const describeRooms = (rooms: readonly RoomSnapshot[]) => `[${rooms.map(show).join(', ')}]`;
  const SIZES = [2, 3, 4];

  it.each(SIZES)('generates all 6 x 9^(n-1) room combinations for %i rooms', (size) => {
    const all = combinations(size);
    expect(all).toHaveLength(6 * 9 ** (size - 1));
    expect(new Set(all.map(describeRooms)).size).toBe(all.length);
    // All 5 states of every receiver, times the 3 states of the initiator, are in there.
    const states = new Set(all.map((rooms) => rooms.map((r) => r.state).join(',')));
    expect(states.size).toBe(3 * 5 ** (size - 1));
  });

  const rows = SIZES.flatMap((size) => [0, 1, 2, 3, 4].map((prev) => [size, prev] as const));

  it.each(rows)(
    '%i rooms, at status %i: agrees with the contract on every combination',
    (size, prev) => {
      const disagreements: string[] = [];
      let checked = 0;
      for (const rooms of combinations(size)) {
        for (const cause of causes(rooms)) {
          const frozen = Object.freeze(rooms.map((r) => Object.freeze({ ...r })));
          const got = deriveStatus(prev, frozen, cause);
          const want = oracle(prev, rooms, cause);
          checked++;
          if (got.status !== want.status || got.reason !== want.reason) {
            disagreements.push(
              `deriveStatus(${prev}, ${describeRooms(rooms)}, '${cause}') = ${got.status} '${got.reason}', contract: ${want.status} '${want.reason}'`,
            );
          }
        }
      }
      expect(checked).toBeGreaterThanOrEqual(6 * 9 ** (size - 1));
      expect(disagreements.slice(0, 20)).toEqual([]);
      expect(disagreements).toHaveLength(0);
    },
  );

  it.each(SIZES.flatMap((size) => [5, 6].map((prev) => [size, prev] as const)))(
    '%i rooms, at terminal status %i: stays, whatever the rooms',
    (size, prev) => {
      const moves: string[] = [];
      for (const rooms of combinations(size)) {
        for (const cause of causes(rooms)) {
          const got = deriveStatus(prev, rooms, cause);
          if (got.status !== prev || got.reason !== '') {
            moves.push(`${describeRooms(rooms)} '${cause}' -> ${got.status} '${got.reason}'`);
          }
        }
      }
      expect(moves.slice(0, 20)).toEqual([]);
    },
  );

  it('the oracle reaches every status and every end reason (it is not vacuous)', () => {
    const seen = new Set<string>();
    for (const prev of [0, 1, 2, 3, 4]) {
      for (const rooms of combinations(3)) {
        for (const cause of causes(rooms)) {
          const want = oracle(prev, rooms, cause);
          seen.add(want.reason ? `${want.status} ${want.reason}` : String(want.status));
        }
      }
    }
    expect([...seen].sort()).toEqual(
      [
        '0',
        '1',
        '2',
        '3',
        '4',
        '5 rejected',
        '6 cancelled',
        '6 stopped',
        '6 rejected',
        '6 invite_timeout',
        '6 join_timeout',
        '6 room_stopped',
        '6 room_offline',
      ].sort(),
    );
  });
});

describe('group relays: transitions', () => {
  const invite3 = () => openRelay('invite', null, T0, TIMERS, TRIO).next;
  const expire = (s: RelaySnapshot, at: number, timers = TIMERS) =>
    transition(s, 'expire', 'system', at, timers);

  /** Runs anchor actions one after another (second by second from sec(5)), each must move. */
  function run(
    s: RelaySnapshot,
    steps: [(typeof ANCHOR_ACTIONS)[number], number][],
  ): RelaySnapshot {
    return steps.reduce(
      (cur, [action, actor], i) => moved(transition(cur, action, actor, sec(5 + i), TIMERS)).next,
      s,
    );
  }

  it('a 3-room invitation: one accepts (1), the other rejects (stays 1), both join (4), the last receiver stops (6)', () => {
    const s0 = invite3();
    expect(s0).toMatchObject({ status: 0, startAt: null, stopAt: null, deadlineAt: sec(30) });
    expect(roomsOf(s0)).toEqual(['agreed', 'invited', 'invited']);
    expect(nextDeadline(s0, TIMERS)).toEqual({ at: sec(30), reason: 'invite_timeout' });

    const t1 = moved(transition(s0, 'accept', B, sec(5), TIMERS));
    expect([outcome(t1), t1.from]).toEqual(['1', 0]);
    expect(changesOf(t1)).toEqual(['1: invited -> agreed']);
    expect(t1.next).toMatchObject({ startAt: sec(5), stopAt: null, deadlineAt: sec(30) });
    // The initiator's join timer starts as the relay reaches 1, the receiver's as it agrees.
    expect(t1.next.rooms.map((r) => r.agreedAt)).toEqual([sec(5), sec(5), null]);

    const t2 = moved(transition(t1.next, 'reject', C, sec(6), TIMERS));
    expect([outcome(t2), t2.from]).toEqual(['1', 1]);
    expect(changesOf(t2)).toEqual(['2: invited -> rejected rejected']);
    expect(t2.next).toMatchObject({ startAt: sec(5), deadlineAt: sec(65) });
    expect(nextDeadline(t2.next, TIMERS)).toEqual({ at: sec(65), reason: 'join_timeout' });

    const t3 = moved(transition(t2.next, 'started', A, sec(7), TIMERS));
    expect([outcome(t3), t3.from]).toEqual(['2', 1]);
    expect(changesOf(t3)).toEqual(['0: agreed -> joined']);
    expect(t3.next.deadlineAt).toBe(sec(65));

    const t4 = moved(transition(t3.next, 'started', B, sec(8), TIMERS));
    expect([outcome(t4), t4.from]).toEqual(['4', 2]);
    expect(changesOf(t4)).toEqual(['1: agreed -> joined']);
    expect(t4.next.deadlineAt).toBeNull();
    expect(roomsOf(t4.next)).toEqual(['joined', 'joined', 'rejected rejected']);

    const t5 = moved(transition(t4.next, 'stop', B, sec(9), TIMERS));
    expect([outcome(t5), t5.from]).toEqual(['6 stopped', 4]);
    expect(changesOf(t5)).toEqual(['1: joined -> left stopped']);
    expect(t5.next).toMatchObject({ stopReason: 'stopped', stopAt: sec(9), deadlineAt: null });
    expect(roomsOf(t5.next)).toEqual(['joined', 'left stopped', 'rejected rejected']);
  });

  it('a 3-room relay stays at 4 while two rooms remain, and ends with the reason of the last receiver to go', () => {
    let s = invite3();
    const t1 = moved(transition(s, 'accept', B, sec(5), TIMERS));
    const t2 = moved(transition(t1.next, 'accept', C, sec(6), TIMERS));
    expect([outcome(t2), t2.from]).toEqual(['1', 1]);
    expect(changesOf(t2)).toEqual(['2: invited -> agreed']);
    expect(t2.next.rooms.map((r) => r.agreedAt)).toEqual([sec(5), sec(5), sec(6)]);
    s = run(t2.next, [
      ['started', A],
      ['started', C],
    ]);
    expect([s.status, roomsOf(s)]).toEqual([4, ['joined', 'agreed', 'joined']]);

    const t3 = moved(transition(s, 'started', B, sec(9), TIMERS));
    expect([outcome(t3), t3.from]).toEqual(['4', 4]);
    expect(changesOf(t3)).toEqual(['1: agreed -> joined']);

    const t4 = moved(transition(t3.next, 'stop', C, sec(10), TIMERS));
    expect([outcome(t4), t4.from]).toEqual(['4', 4]);
    expect(changesOf(t4)).toEqual(['2: joined -> left stopped']);
    expect(t4.next).toMatchObject({ stopReason: '', stopAt: null });

    const t5 = moved(transition(t4.next, 'room_offline', 'system', sec(11), TIMERS, B));
    expect([outcome(t5), t5.from]).toEqual(['6 room_offline', 4]);
    expect(changesOf(t5)).toEqual(['1: joined -> left room_offline']);
    expect(roomsOf(t5.next)).toEqual(['joined', 'left room_offline', 'left stopped']);
    expect(t5.next.stopAt).toBe(sec(11));
  });

  it('ends at 5 (rejected) when every receiver rejects explicitly', () => {
    const t1 = moved(transition(invite3(), 'reject', B, sec(5), TIMERS));
    expect([outcome(t1), t1.from]).toEqual(['0', 0]);
    expect(changesOf(t1)).toEqual(['1: invited -> rejected rejected']);
    expect(t1.next.deadlineAt).toBe(sec(30));
    const t2 = moved(transition(t1.next, 'reject', C, sec(6), TIMERS));
    expect([outcome(t2), t2.from]).toEqual(['5 rejected', 0]);
    expect(changesOf(t2)).toEqual(['2: invited -> rejected rejected']);
    expect(t2.next).toMatchObject({ startAt: null, stopAt: sec(6), deadlineAt: null });
    expect(roomsOf(t2.next)).toEqual(['agreed', 'rejected rejected', 'rejected rejected']);
  });

  it('ends at 6 (invite_timeout) when one rejects and the other times out', () => {
    const s = moved(transition(invite3(), 'reject', B, sec(5), TIMERS)).next;
    expect(outcome(expire(s, sec(30) - 1))).toBe('=');
    const t = moved(expire(s, sec(30)));
    expect([outcome(t), t.from]).toEqual(['6 invite_timeout', 0]);
    expect(changesOf(t)).toEqual(['2: invited -> rejected invite_timeout']);
    expect(t.next).toMatchObject({ stopAt: sec(30), deadlineAt: null });
  });

  it('the invite timeout moves every room still invited, in rooms order, whatever the status', () => {
    const s = moved(
      transition(openRelay('invite', null, T0, TIMERS, QUARTET).next, 'accept', C, sec(5), TIMERS),
    ).next;
    const t = moved(expire(s, sec(30)));
    expect([outcome(t), t.from]).toEqual(['1', 1]);
    expect(changesOf(t)).toEqual([
      '1: invited -> rejected invite_timeout',
      '3: invited -> rejected invite_timeout',
    ]);
    expect(nextDeadline(t.next, TIMERS)).toEqual({ at: sec(65), reason: 'join_timeout' });

    const at4 = run(invite3(), [
      ['accept', B],
      ['started', A],
      ['started', B],
    ]);
    expect([at4.status, at4.deadlineAt]).toEqual([4, sec(30)]);
    const t4 = moved(expire(at4, sec(30)));
    expect([outcome(t4), changesOf(t4)]).toEqual(['4', ['2: invited -> rejected invite_timeout']]);
    expect(t4.next.deadlineAt).toBeNull();
  });

  it('join timeouts fire per room: a receiver that agreed later times out later', () => {
    const s0 = invite3();
    expect(nextDeadline(s0, TIMERS)).toEqual({ at: sec(30), reason: 'invite_timeout' });
    const s1 = moved(transition(s0, 'accept', B, sec(5), TIMERS)).next;
    expect(nextDeadline(s1, TIMERS)).toEqual({ at: sec(30), reason: 'invite_timeout' });
    const s2 = moved(transition(s1, 'started', A, sec(10), TIMERS)).next;
    expect([s2.status, nextDeadline(s2, TIMERS)]).toEqual([
      2,
      { at: sec(30), reason: 'invite_timeout' },
    ]);
    const s3 = moved(transition(s2, 'accept', C, sec(20), TIMERS)).next;
    expect([s3.status, s3.deadlineAt]).toEqual([2, sec(65)]);
    expect(nextDeadline(s3, TIMERS)).toEqual({ at: sec(65), reason: 'join_timeout' });

    expect(outcome(expire(s3, sec(65) - 1))).toBe('=');
    const t4 = moved(expire(s3, sec(65)));
    expect([outcome(t4), changesOf(t4)]).toEqual(['2', ['1: agreed -> left join_timeout']]);
    expect(t4.next.deadlineAt).toBe(sec(80));
    expect(nextDeadline(t4.next, TIMERS)).toEqual({ at: sec(80), reason: 'join_timeout' });

    expect(outcome(expire(t4.next, sec(80) - 1))).toBe('=');
    const t5 = moved(expire(t4.next, sec(80)));
    expect([outcome(t5), t5.from, changesOf(t5)]).toEqual([
      '6 join_timeout',
      2,
      ['2: agreed -> left join_timeout'],
    ]);
    expect(nextDeadline(t5.next, TIMERS)).toBeNull();
    expect(roomsOf(t5.next)).toEqual(['joined', 'left join_timeout', 'left join_timeout']);
  });

  it('an expiry that finds several timers due moves each room once, in rooms order', () => {
    const s = moved(transition(invite3(), 'accept', B, sec(5), TIMERS)).next;
    const t = moved(expire(s, sec(70)));
    expect([outcome(t), t.from]).toEqual(['6 join_timeout', 1]);
    expect(changesOf(t)).toEqual([
      '0: agreed -> left join_timeout',
      '1: agreed -> left join_timeout',
      '2: invited -> rejected invite_timeout',
    ]);
  });

  it("the initiator's join timer starts when the relay reaches 1, not before and not again", () => {
    const noInvite = { inviteTimeoutS: 0, joinTimeoutS: 60 };
    const s0 = openRelay('invite', null, T0, noInvite, TRIO).next;
    expect(s0.rooms.map((r) => r.agreedAt)).toEqual([null, null, null]);
    expect([s0.deadlineAt, nextDeadline(s0, noInvite)]).toEqual([null, null]);
    expect(outcome(expire(s0, sec(3600), noInvite))).toBe('=');

    const s1 = moved(transition(s0, 'accept', B, sec(10), noInvite)).next;
    expect(s1.rooms.map((r) => r.agreedAt)).toEqual([sec(10), sec(10), null]);
    expect(nextDeadline(s1, noInvite)).toEqual({ at: sec(70), reason: 'join_timeout' });
    const s2 = moved(transition(s1, 'started', B, sec(15), noInvite)).next;
    const s3 = moved(transition(s2, 'accept', C, sec(20), noInvite)).next;
    expect([s3.status, s3.startAt]).toEqual([3, sec(10)]);
    expect(s3.rooms.map((r) => r.agreedAt)).toEqual([sec(10), sec(10), sec(20)]);
    expect(nextDeadline(s3, noInvite)).toEqual({ at: sec(70), reason: 'join_timeout' });

    const t = moved(expire(s3, sec(70), noInvite));
    expect([outcome(t), t.from, changesOf(t)]).toEqual([
      '6 join_timeout',
      3,
      ['0: agreed -> left join_timeout'],
    ]);

    const auto = openRelay('auto', null, T0, TIMERS, TRIO).next;
    expect([auto.status, auto.startAt, auto.deadlineAt]).toEqual([1, T0, sec(60)]);
    expect(roomsOf(auto)).toEqual(['agreed', 'agreed', 'agreed']);
    expect(auto.rooms.map((r) => r.agreedAt)).toEqual([T0, T0, T0]);
  });

  it('the duration ends the relay with its rooms as they were', () => {
    const s = moved(
      transition(openRelay('auto', 20, T0, TIMERS, TRIO).next, 'started', A, sec(5), TIMERS),
    ).next;
    expect(nextDeadline(s, TIMERS)).toEqual({ at: sec(20), reason: 'duration_elapsed' });
    expect(outcome(expire(s, sec(20) - 1))).toBe('=');
    const t = moved(expire(s, sec(20)));
    expect([outcome(t), t.from, t.changes]).toEqual(['6 duration_elapsed', 2, []]);
    expect(t.next.rooms).toEqual(s.rooms);
    expect(t.next).toMatchObject({ stopAt: sec(20), deadlineAt: null });

    // A join timeout that fell due first still moves its room, then the duration ends it.
    const at4 = run(openRelay('auto', 70, T0, TIMERS, TRIO).next, [
      ['started', A],
      ['started', B],
    ]);
    expect(nextDeadline(at4, TIMERS)).toEqual({ at: sec(60), reason: 'join_timeout' });
    const late = moved(expire(at4, sec(70)));
    expect([outcome(late), late.from, changesOf(late)]).toEqual([
      '6 duration_elapsed',
      4,
      ['2: agreed -> left join_timeout'],
    ]);
  });

  it('statuses only move forward: 3 stays 3 when its joined receiver leaves while others are in', () => {
    const at3 = run(invite3(), [
      ['accept', B],
      ['accept', C],
      ['started', B],
    ]);
    expect(at3.status).toBe(3);
    const t = moved(transition(at3, 'stop', B, sec(20), TIMERS));
    expect([outcome(t), t.from, changesOf(t)]).toEqual(['3', 3, ['1: joined -> left stopped']]);
    expect(roomsOf(t.next)).toEqual(['agreed', 'left stopped', 'agreed']);
    // The initiator joining next makes the rooms read 2, which is not ahead of 3.
    const t2 = moved(transition(t.next, 'started', A, sec(21), TIMERS));
    expect([outcome(t2), changesOf(t2)]).toEqual(['3', ['0: agreed -> joined']]);
    const t3 = moved(transition(t2.next, 'started', C, sec(22), TIMERS));
    expect(outcome(t3)).toBe('4');
  });

  it('the initiator and the system end a group relay, rooms kept as they were', () => {
    const cancelled = moved(transition(invite3(), 'stop', A, sec(5), TIMERS));
    expect([outcome(cancelled), changesOf(cancelled)]).toEqual([
      '6 cancelled',
      ['0: agreed -> left stopped'],
    ]);
    expect(roomsOf(cancelled.next)).toEqual(['left stopped', 'invited', 'invited']);
    expect(outcome(expire(cancelled.next, sec(3600)))).toBe('=');

    const at1 = run(invite3(), [['accept', C]]);
    expect(outcome(transition(at1, 'stop', A, sec(9), TIMERS))).toBe('6 stopped');
    expect(outcome(transition(at1, 'room_stopped', 'system', sec(9), TIMERS, A))).toBe(
      '6 room_stopped',
    );
    expect(outcome(transition(at1, 'room_offline', 'system', sec(9), TIMERS, A))).toBe(
      '6 room_offline',
    );
    // A receiver's room stopped while another is still invited: the relay goes on.
    const goesOn = moved(transition(at1, 'room_stopped', 'system', sec(9), TIMERS, C));
    expect([outcome(goesOn), changesOf(goesOn)]).toEqual(['1', ['2: agreed -> left room_stopped']]);
    const admin = moved(transition(at1, 'admin_stop', 'system', sec(9), TIMERS));
    expect([outcome(admin), admin.changes]).toEqual(['6 admin', []]);
    expect(admin.next.rooms).toEqual(at1.rooms);
  });

  it('accept and reject by the initiator (index 0) are refused with 403', () => {
    const snapshots = [
      invite3(),
      run(invite3(), [['accept', B]]),
      run(invite3(), [
        ['accept', B],
        ['started', A],
        ['started', B],
      ]),
      moved(transition(invite3(), 'admin_stop', 'system', sec(5), TIMERS)).next,
    ];
    for (const s of snapshots) {
      for (const action of ['accept', 'reject'] as const) {
        expect([s.status, action, outcome(transition(s, action, A, sec(40), TIMERS))]).toEqual([
          s.status,
          action,
          '403',
        ]);
      }
    }
  });

  it("anchor actions by 'system' and system actions by an anchor are refused with 403", () => {
    const at1 = run(invite3(), [['accept', B]]);
    for (const action of ANCHOR_ACTIONS) {
      expect([action, outcome(transition(at1, action, 'system', sec(9), TIMERS, B))]).toEqual([
        action,
        '403',
      ]);
    }
    for (const action of SYSTEM_ACTIONS) {
      for (const actor of [A, B, C]) {
        expect([
          action,
          actor,
          outcome(transition(at1, action, actor, sec(99), TIMERS, B)),
        ]).toEqual([action, actor, '403']);
      }
    }
  });

  it('terminal relays refuse accept and started with 601; reject repeats and stops change nothing', () => {
    // Ended by an admin at 2: A joined, B agreed, C still invited.
    const ended = moved(
      transition(
        run(invite3(), [
          ['accept', B],
          ['started', A],
        ]),
        'admin_stop',
        'system',
        sec(20),
        TIMERS,
      ),
    ).next;
    expect([ended.status, roomsOf(ended)]).toEqual([6, ['joined', 'agreed', 'invited']]);
    const on = (s: RelaySnapshot, action: (typeof ANCHOR_ACTIONS)[number], actor: number) =>
      outcome(transition(s, action, actor, sec(21), TIMERS));
    expect([
      on(ended, 'accept', B),
      on(ended, 'accept', C),
      on(ended, 'started', A),
      on(ended, 'started', B),
      on(ended, 'reject', C),
      on(ended, 'stop', A),
      on(ended, 'stop', B),
      on(ended, 'stop', C),
    ]).toEqual(['601', '601', '601', '601', '601', '=', '=', '=']);

    const rejected = run(invite3(), [
      ['reject', B],
      ['reject', C],
    ]);
    expect(rejected.status).toBe(5);
    expect([
      on(rejected, 'accept', B),
      on(rejected, 'started', A),
      on(rejected, 'reject', B),
      on(rejected, 'reject', C),
      on(rejected, 'stop', A),
      on(rejected, 'stop', C),
    ]).toEqual(['601', '601', '=', '=', '=', '=']);
  });

  it('a room no longer in, while the relay goes on: stop changes nothing, the room rules refuse the rest', () => {
    // C rejected at 1 (A, B, D in), then at 4 with B left.
    const s = run(openRelay('invite', null, T0, TIMERS, QUARTET).next, [
      ['accept', B],
      ['reject', C],
      ['accept', D],
    ]);
    expect([s.status, roomsOf(s)]).toEqual([
      1,
      ['agreed', 'agreed', 'rejected rejected', 'agreed'],
    ]);
    const on = (cur: RelaySnapshot, action: (typeof ANCHOR_ACTIONS)[number], actor: number) =>
      outcome(transition(cur, action, actor, sec(30), TIMERS));
    expect([on(s, 'stop', C), on(s, 'reject', C), on(s, 'accept', C), on(s, 'started', C)]).toEqual(
      ['=', '=', '601', '601'],
    );
    expect(outcome(transition(s, 'room_stopped', 'system', sec(30), TIMERS, C))).toBe('=');
    expect(outcome(transition(s, 'room_offline', 'system', sec(30), TIMERS, C))).toBe('=');

    const left = run(s, [
      ['started', A],
      ['started', B],
      ['started', D],
      ['stop', B],
    ]);
    expect([left.status, roomsOf(left)]).toEqual([
      4,
      ['joined', 'left stopped', 'rejected rejected', 'joined'],
    ]);
    expect([
      on(left, 'stop', B),
      on(left, 'accept', B),
      on(left, 'reject', B),
      on(left, 'started', B),
    ]).toEqual(['=', '601', '601', '601']);
    expect(outcome(transition(left, 'room_offline', 'system', sec(30), TIMERS, B))).toBe('=');
  });

  it('started at 0 is refused with 601, and repeats of accept and started change nothing', () => {
    expect(outcome(transition(invite3(), 'started', A, sec(5), TIMERS))).toBe('601');
    const at2 = run(invite3(), [
      ['accept', B],
      ['started', A],
    ]);
    expect(outcome(transition(at2, 'started', A, sec(9), TIMERS))).toBe('=');
    expect(outcome(transition(at2, 'accept', B, sec(9), TIMERS))).toBe('=');
    // C is still invited: its started is refused by the room rules.
    expect(outcome(transition(at2, 'started', C, sec(9), TIMERS))).toBe('601');
  });
});
