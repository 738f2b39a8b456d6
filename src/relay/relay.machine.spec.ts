import {
  ANCHOR_ACTIONS,
  nextDeadline,
  openRelay,
  RelayAction,
  RelaySnapshot,
  RelayStatus,
  RelayTimers,
  RoomSnapshot,
  RoomState,
  statusPhrase,
  SYSTEM_ACTIONS,
  transition,
} from './relay.machine';

const T0 = 1_800_000_000_000;
const NOW = T0 + 5_000;
const TIMERS: RelayTimers = { inviteTimeoutS: 30, joinTimeoutS: 60 };
const PAIR = [
  { roomId: 'room_a', userId: 'alice' },
  { roomId: 'room_b', userId: 'bob' },
];
/** The two-room relay's actors, as rooms of the group. */
const INIT = 0;
const RECV = 1;
type Who = 'init' | 'recv' | 'system';

/** The rooms of a two-room relay at each status: the initiator's, then the receiver's. */
const PAIR_STATES: Record<RelayStatus, [RoomState, RoomState]> = {
  [RelayStatus.Waiting]: ['agreed', 'invited'],
  [RelayStatus.Agreed]: ['agreed', 'agreed'],
  [RelayStatus.InitJoined]: ['joined', 'agreed'],
  [RelayStatus.RecvJoined]: ['agreed', 'joined'],
  [RelayStatus.BothJoined]: ['joined', 'joined'],
  [RelayStatus.Rejected]: ['agreed', 'rejected'],
  [RelayStatus.Ended]: ['agreed', 'agreed'],
};

function at(status: RelayStatus, extra: Partial<RelaySnapshot> = {}): RelaySnapshot {
  const agreed = status !== RelayStatus.Waiting;
  const ended = status === RelayStatus.Rejected || status === RelayStatus.Ended;
  const rooms = PAIR.map((m, i): RoomSnapshot => ({
    ...m,
    role: i === INIT ? 'init' : 'recv',
    state: PAIR_STATES[status][i],
    reason: PAIR_STATES[status][i] === 'rejected' ? 'rejected' : '',
    agreedAt: agreed && status !== RelayStatus.Rejected ? T0 : null,
  }));
  return {
    status,
    stopReason: status === RelayStatus.Rejected ? 'rejected' : ended ? 'stopped' : '',
    durationS: null,
    createdAt: T0,
    startAt: agreed && status !== RelayStatus.Rejected ? T0 : null,
    stopAt: ended ? T0 : null,
    deadlineAt: null,
    rooms,
    ...extra,
  };
}

/** '=' unchanged, '403'/'601' refused, else the new status and, for 5/6, the reason. */
type Expect = '=' | '403' | '601' | `${number}` | `${number} ${string}`;

/**
 * An anchor acts on its own room; a system action about a room (stopped, offline) is asked of
 * each room in turn, and must come out the same for both.
 */
function outcome(status: RelayStatus, action: RelayAction, who: Who, now = NOW): Expect {
  const results = [INIT, RECV].map((room) => {
    const actor = who === 'system' ? 'system' : who === 'init' ? INIT : RECV;
    const t = transition(at(status), action, actor, now, TIMERS, room);
    if (t.kind === 'unchanged') return '=';
    if (t.kind === 'refused') return String(t.code);
    return t.reason ? `${t.next.status} ${t.reason}` : `${t.next.status}`;
  });
  expect(results[1]).toBe(results[0]);
  return results[0] as Expect;
}

describe('relay state machine', () => {
  // Columns: accept, reject, started, stop; each by the initiator, then by the receiver.
  const anchorTable: Record<RelayStatus, Expect[]> = {
    [RelayStatus.Waiting]: [
      '403',
      '1',
      '403',
      '5 rejected',
      '601',
      '601',
      '6 cancelled',
      '6 stopped',
    ],
    [RelayStatus.Agreed]: ['403', '=', '403', '601', '2', '3', '6 stopped', '6 stopped'],
    [RelayStatus.InitJoined]: ['403', '=', '403', '601', '=', '4', '6 stopped', '6 stopped'],
    [RelayStatus.RecvJoined]: ['403', '=', '403', '601', '4', '=', '6 stopped', '6 stopped'],
    [RelayStatus.BothJoined]: ['403', '=', '403', '601', '=', '=', '6 stopped', '6 stopped'],
    [RelayStatus.Rejected]: ['403', '601', '403', '=', '601', '601', '=', '='],
    [RelayStatus.Ended]: ['403', '601', '403', '601', '601', '601', '=', '='],
  };
  const anchorRows = Object.entries(anchorTable).flatMap(([status, cells]) =>
    ANCHOR_ACTIONS.flatMap((action, i) =>
      (['init', 'recv'] as const).map(
        (actor, j) => [Number(status), action, actor, cells[i * 2 + j]] as const,
      ),
    ),
  );

  it.each(anchorRows)('status %i + %s by %s -> %s', (status, action, actor, expected) => {
    expect(outcome(status, action, actor)).toBe(expected);
  });

  const systemEnds = {
    room_stopped: 'room_stopped',
    room_offline: 'room_offline',
    admin_stop: 'admin',
  } as const;
  const systemRows = [0, 1, 2, 3, 4, 5, 6].flatMap((status) =>
    (Object.keys(systemEnds) as (keyof typeof systemEnds)[]).map(
      (action) => [status, action, status >= 5 ? '=' : `6 ${systemEnds[action]}`] as const,
    ),
  );

  it.each(systemRows)('status %i + %s by the system -> %s', (status, action, expected) => {
    expect(outcome(status, action, 'system')).toBe(expected);
  });

  const wrongActorRows = [0, 1, 2, 3, 4, 5, 6].flatMap((status) => [
    ...ANCHOR_ACTIONS.map((action) => [status, action, 'system'] as const),
    ...SYSTEM_ACTIONS.flatMap((action) =>
      (['init', 'recv'] as const).map((actor) => [status, action, actor] as const),
    ),
  ]);

  it.each(wrongActorRows)('status %i + %s by %s is refused with 403', (status, action, actor) => {
    expect(outcome(status, action, actor)).toBe('403');
  });

  it.each([
    [RelayStatus.Waiting, '', 'status 0'],
    [RelayStatus.BothJoined, '', 'status 4'],
    [RelayStatus.Rejected, 'rejected', 'status 5 (relay ended: rejected)'],
    [RelayStatus.Ended, 'invite_timeout', 'status 6 (relay ended: invite_timeout)'],
    [RelayStatus.Ended, 'room_offline', 'status 6 (relay ended: room_offline)'],
  ] as const)('status %i with stop reason "%s" reads "%s"', (status, stopReason, phrase) => {
    expect(statusPhrase({ status, stopReason })).toBe(phrase);
  });

  it.each([
    [
      'accept',
      RECV,
      'invite_timeout',
      'cannot accept a relay in status 6 (relay ended: invite_timeout)',
    ],
    [
      'started',
      INIT,
      'room_offline',
      'cannot report started for a relay in status 6 (relay ended: room_offline)',
    ],
    [
      'started',
      RECV,
      'join_timeout',
      'cannot report started for a relay in status 6 (relay ended: join_timeout)',
    ],
  ] as const)(
    '%s by room %i on a relay ended by %s says how it ended',
    (action, actor, reason, message) => {
      const ended = at(RelayStatus.Ended, { stopReason: reason });
      expect(transition(ended, action, actor, NOW, TIMERS)).toEqual({
        kind: 'refused',
        code: 601,
        message,
      });
    },
  );

  it('a room that has left says why when it is asked to join', () => {
    const group = at(RelayStatus.BothJoined);
    group.rooms = [
      ...group.rooms,
      { ...group.rooms[1], roomId: 'room_c', state: 'left', reason: 'room_offline' },
    ];
    expect(transition(group, 'started', 2, NOW, TIMERS)).toEqual({
      kind: 'refused',
      code: 601,
      message: 'cannot started a room that is left (room_offline)',
    });
  });

  it('sets start_at when agreed and stop_at when ended, and keeps the snapshot immutable', () => {
    const before = at(RelayStatus.Waiting);
    const agreed = transition(before, 'accept', RECV, NOW, TIMERS);
    expect(agreed).toMatchObject({
      kind: 'moved',
      from: 0,
      next: { status: 1, startAt: NOW, stopAt: null },
    });
    expect(before.status).toBe(RelayStatus.Waiting);
    const ended = transition(at(RelayStatus.BothJoined), 'stop', INIT, NOW, TIMERS);
    expect(ended).toMatchObject({
      kind: 'moved',
      from: 4,
      next: { status: 6, stopAt: NOW, startAt: T0, deadlineAt: null },
    });
  });

  it('opens auto relays agreed and invitations waiting, each recording its creation', () => {
    const auto = openRelay('auto', null, T0, TIMERS, PAIR);
    expect(auto.next).toMatchObject({ status: 1, startAt: T0, deadlineAt: T0 + 60_000 });
    expect(auto.effects).toEqual({
      events: [
        { type: 'relay.status_changed', relay: auto.next, data: { from: null, to: 1, reason: '' } },
      ],
      released: [],
      due: T0 + 60_000,
    });
    const invite = openRelay('invite', null, T0, TIMERS, PAIR);
    expect(invite.next).toMatchObject({ status: 0, startAt: null, deadlineAt: T0 + 30_000 });
    expect(invite.effects.events.map((e) => e.data)).toEqual([{ from: null, to: 0, reason: '' }]);
  });

  describe('deadlines, with the clock passed in', () => {
    it('an invitation falls due RELAY_INVITE_TIMEOUT_S after it was made', () => {
      const s = openRelay('invite', null, T0, TIMERS, PAIR).next;
      expect(transition(s, 'expire', 'system', T0 + 29_999, TIMERS).kind).toBe('unchanged');
      expect(transition(s, 'expire', 'system', T0 + 30_000, TIMERS)).toMatchObject({
        kind: 'moved',
        next: { status: 6, stopReason: 'invite_timeout', stopAt: T0 + 30_000 },
      });
    });

    it('an agreed relay that has not reached 4 falls due RELAY_JOIN_TIMEOUT_S after agreeing', () => {
      for (const status of [RelayStatus.Agreed, RelayStatus.InitJoined, RelayStatus.RecvJoined]) {
        const s = at(status);
        expect(nextDeadline(s, TIMERS)).toEqual({ at: T0 + 60_000, reason: 'join_timeout' });
        expect(transition(s, 'expire', 'system', T0 + 60_000, TIMERS)).toMatchObject({
          next: { status: 6, stopReason: 'join_timeout' },
        });
      }
    });

    it('reaching 4 drops the join deadline and keeps the duration', () => {
      const joined = transition(
        at(RelayStatus.InitJoined, { durationS: 600 }),
        'started',
        RECV,
        NOW,
        TIMERS,
      );
      expect(joined).toMatchObject({ next: { status: 4, deadlineAt: T0 + 600_000 } });
      expect(nextDeadline(at(RelayStatus.BothJoined), TIMERS)).toBeNull();
    });

    it('duration_s ends the relay that long after start_at, whichever deadline comes first', () => {
      const short = at(RelayStatus.Agreed, { durationS: 20 });
      expect(nextDeadline(short, TIMERS)).toEqual({ at: T0 + 20_000, reason: 'duration_elapsed' });
      expect(transition(short, 'expire', 'system', T0 + 20_000, TIMERS)).toMatchObject({
        next: { status: 6, stopReason: 'duration_elapsed' },
      });
      const long = at(RelayStatus.Agreed, { durationS: 600 });
      expect(nextDeadline(long, TIMERS)).toEqual({ at: T0 + 60_000, reason: 'join_timeout' });
    });

    it('0 disables a timeout', () => {
      const off = { inviteTimeoutS: 0, joinTimeoutS: 0 };
      expect(openRelay('invite', null, T0, off, PAIR).next.deadlineAt).toBeNull();
      expect(openRelay('auto', null, T0, off, PAIR).next.deadlineAt).toBeNull();
      expect(
        transition(at(RelayStatus.Waiting), 'expire', 'system', T0 + 86_400_000, off).kind,
      ).toBe('unchanged');
    });

    it('an expiry of an ended relay changes nothing', () => {
      expect(
        transition(at(RelayStatus.Ended), 'expire', 'system', T0 + 86_400_000, TIMERS).kind,
      ).toBe('unchanged');
    });
  });
});
