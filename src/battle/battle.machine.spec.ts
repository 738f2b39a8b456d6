import {
  advance,
  Battle,
  BattleAction,
  BattlePhase,
  BattleStep,
  Contributor,
  dueOf,
  leaderOf,
  maySettle,
  openBattle,
  rankingOf,
  scoreBattle,
  stepBattle,
} from './battle.machine';

const T0 = 1_800_000_000_000;
const S = 1000;
const SETTINGS = { countdownS: 3, durationS: 60, punishmentS: 10, inviteTimeoutS: 10 };
const TRIO = [
  { roomId: 'room_a', userId: 'alice' },
  { roomId: 'room_b', userId: 'bob' },
  { roomId: 'room_c', userId: 'carol' },
];
const tops: Record<string, Contributor> = {
  room_a: { roomId: 'room_a', userId: 'fan_a', amount: 50 },
  room_b: { roomId: 'room_b', userId: 'fan_b', amount: 70 },
};
const topOf = (roomId: string) => tops[roomId] ?? null;

function moved(
  step: BattleStep | ReturnType<typeof advance>,
): Extract<BattleStep, { kind: 'moved' }> {
  if (step.kind !== 'moved') throw new Error(`expected a move, got ${JSON.stringify(step)}`);
  return step;
}

/** A three-room battle in each phase, the rooms' states as the table needs them. */
function at(phase: BattlePhase): Battle {
  const invited = openBattle(1, 'invite', TRIO, SETTINGS, T0).next;
  if (phase === 'invited') {
    // room_b has agreed, room_c is still invited.
    return {
      ...invited,
      rooms: invited.rooms.map((r, i) => (i === 1 ? { ...r, state: 'agreed' } : r)),
    };
  }
  const auto = openBattle(1, 'auto', TRIO, SETTINGS, T0).next;
  const fighting = { ...auto, phase: 'fighting' as const };
  switch (phase) {
    case 'countdown':
      return auto;
    case 'fighting':
      return fighting;
    case 'punishment':
      return { ...fighting, phase: 'punishment', settled: true };
    case 'ended':
      return { ...fighting, phase: 'ended', reason: 'finished', settled: true, endedAt: T0 };
  }
}

/** '=' unchanged, '601' refused, else the battle's phase (and reason) and each room's state. */
function outcome(b: Battle, action: BattleAction, now = T0 + 2 * S): string {
  const step = stepBattle(b, action, now, topOf);
  if (step.kind === 'unchanged') return '=';
  if (step.kind === 'refused') return String(step.code);
  const { phase, reason, rooms } = step.next;
  return `${phase}${reason ? ` ${reason}` : ''} [${rooms.map((r) => r.state[0]).join('')}]`;
}

describe('battle phase machine', () => {
  // Actors: the starter (room 0), an agreed room (1), a room still invited in the invited
  // phase (2), and the server API. Columns: accept, reject, stop.
  const table: Record<BattlePhase, Record<string, [string, string, string]>> = {
    invited: {
      starter: ['=', '601', 'ended cancelled [aai]'],
      agreed: ['=', '601', 'invited [ari]'],
      // The last room to answer resolves the invitation: two or more agreed, the countdown.
      invited: ['countdown [aaa]', 'countdown [aar]', 'countdown [aar]'],
    },
    countdown: {
      starter: ['=', '601', 'ended stopped [aaa]'],
      agreed: ['=', '601', 'ended stopped [aaa]'],
      invited: ['=', '601', 'ended stopped [aaa]'],
    },
    fighting: {
      starter: ['=', '601', 'ended stopped [aaa]'],
      agreed: ['=', '601', 'ended stopped [aaa]'],
      invited: ['=', '601', 'ended stopped [aaa]'],
    },
    punishment: {
      starter: ['=', '601', 'ended stopped [aaa]'],
      agreed: ['=', '601', 'ended stopped [aaa]'],
      invited: ['=', '601', 'ended stopped [aaa]'],
    },
    ended: {
      starter: ['=', '601', '='],
      agreed: ['=', '601', '='],
      invited: ['=', '601', '='],
    },
  };
  const actorIndex = { starter: 0, agreed: 1, invited: 2 } as const;
  const rows = Object.entries(table).flatMap(([phase, actors]) =>
    Object.entries(actors).flatMap(([actor, cells]) =>
      (['accept', 'reject', 'stop'] as const).map(
        (kind, i) =>
          [phase as BattlePhase, kind, actor as keyof typeof actorIndex, cells[i]] as const,
      ),
    ),
  );

  it.each(rows)('%s + %s by %s -> %s', (phase, kind, actor, expected) => {
    const room = actorIndex[actor];
    const action: BattleAction = kind === 'stop' ? { kind, by: room } : { kind, room };
    expect(outcome(at(phase), action)).toBe(expected);
  });

  it.each<[BattlePhase, string, string, string]>([
    ['invited', 'ended admin [aai]', 'ended relay_ended [aai]', 'ended room_left [aai]'],
    ['countdown', 'ended admin [aaa]', 'ended relay_ended [aaa]', 'ended room_left [aaa]'],
    ['fighting', 'ended admin [aaa]', 'ended relay_ended [aaa]', 'ended room_left [aaa]'],
    ['punishment', 'ended admin [aaa]', 'ended relay_ended [aaa]', 'ended room_left [aaa]'],
    ['ended', '=', '=', '='],
  ])(
    '%s: admin stop -> %s, relay ended -> %s, one room left in the relay -> %s',
    (phase, admin, ended, left) => {
      expect(outcome(at(phase), { kind: 'stop', by: 'admin' })).toBe(admin);
      expect(outcome(at(phase), { kind: 'relay_ended' })).toBe(ended);
      expect(outcome(at(phase), { kind: 'rooms_left', stillIn: ['room_a'] })).toBe(left);
      // Two rooms still in: the battle goes on.
      expect(outcome(at(phase), { kind: 'rooms_left', stillIn: ['room_a', 'room_b'] })).toBe('=');
    },
  );

  it('a rejected room refuses a stop (601) and answers its own repeat with no change', () => {
    const b = moved(stepBattle(at('invited'), { kind: 'reject', room: 2 }, T0 + S)).next;
    expect(outcome(b, { kind: 'stop', by: 2 })).toBe('601');
    expect(outcome(b, { kind: 'reject', room: 2 })).toBe('=');
    expect(outcome(b, { kind: 'accept', room: 2 })).toBe('601');
  });

  describe('creation', () => {
    it.each<['invite' | 'auto', number, BattlePhase, number | null]>([
      ['invite', 3, 'invited', T0 + 10 * S],
      ['auto', 3, 'countdown', T0 + 3 * S],
      ['auto', 0, 'fighting', T0 + 60 * S],
    ])('%s with a countdown of %i s starts %s, due at %s', (mode, countdownS, phase, due) => {
      const step = openBattle(2, mode, TRIO, { ...SETTINGS, countdownS }, T0);
      expect(step.next.phase).toBe(phase);
      expect(step.due).toBe(due);
      expect(step.events.map((e) => e.data)).toEqual([
        { battle_no: 2, room_id: '', from: null, to: phase, reason: '' },
      ]);
      expect(step.next.rooms.map((r) => r.state)).toEqual(
        mode === 'auto' ? ['agreed', 'agreed', 'agreed'] : ['agreed', 'invited', 'invited'],
      );
    });

    it('knows the fight times once the countdown begins', () => {
      const b = openBattle(1, 'auto', TRIO, SETTINGS, T0).next;
      expect([b.fightStartAt, b.fightEndAt]).toEqual([T0 + 3 * S, T0 + 63 * S]);
      const invited = openBattle(1, 'invite', TRIO, SETTINGS, T0).next;
      expect([invited.fightStartAt, invited.fightEndAt]).toEqual([null, null]);
    });
  });

  describe('answers', () => {
    it('records the answer before the phase move it causes', () => {
      const two = openBattle(1, 'invite', TRIO.slice(0, 2), SETTINGS, T0).next;
      const step = moved(stepBattle(two, { kind: 'accept', room: 1 }, T0 + 4 * S));
      expect(step.events.map((e) => [e.data.room_id, e.data.from, e.data.to])).toEqual([
        ['room_b', 'invited', 'agreed'],
        ['', 'invited', 'countdown'],
      ]);
      expect(step.events[0].battle.phase).toBe('invited');
      expect(step.next).toMatchObject({
        phase: 'countdown',
        inviteDueAt: null,
        fightStartAt: T0 + 7 * S,
        fightEndAt: T0 + 67 * S,
      });
    });

    it('ends rejected when every other room rejected, and the rejecting rooms take no part otherwise', () => {
      const b = openBattle(1, 'invite', TRIO, SETTINGS, T0).next;
      const one = moved(stepBattle(b, { kind: 'reject', room: 1 }, T0 + S)).next;
      expect(one.phase).toBe('invited');
      const both = moved(stepBattle(one, { kind: 'reject', room: 2 }, T0 + 2 * S));
      expect(both.next).toMatchObject({ phase: 'ended', reason: 'rejected', endedAt: T0 + 2 * S });
      const accepted = moved(stepBattle(one, { kind: 'accept', room: 2 }, T0 + 2 * S)).next;
      expect(accepted.phase).toBe('countdown');
      expect(rankingOf(accepted).map((r) => r.roomId)).toEqual(['room_a', 'room_c']);
    });
  });

  describe('due moves, each at its own due time', () => {
    it('walks invited -> countdown -> fighting -> punishment -> ended, one event each', () => {
      const b = openBattle(1, 'invite', TRIO, SETTINGS, T0).next;
      const accepted = moved(stepBattle(b, { kind: 'accept', room: 1 }, T0 + S)).next;
      // room_c never answers: at T0 + 10 s it is rejected and the countdown begins then.
      const late = moved(advance(accepted, T0 + 200 * S, topOf));
      expect(
        late.events.map((e) => [e.data.room_id, e.data.from, e.data.to, e.data.reason]),
      ).toEqual([
        ['room_c', 'invited', 'rejected', 'invite_timeout'],
        ['', 'invited', 'countdown', ''],
        ['', 'countdown', 'fighting', ''],
        ['', 'fighting', 'punishment', ''],
        ['', 'punishment', 'ended', 'finished'],
      ]);
      expect(late.next).toMatchObject({
        fightStartAt: T0 + 13 * S,
        fightEndAt: T0 + 73 * S,
        endedAt: T0 + 83 * S,
        settled: true,
      });
      expect(late.due).toBeNull();
    });

    it.each<[number, BattlePhase, number | null]>([
      [T0 + 3 * S - 1, 'countdown', T0 + 3 * S],
      [T0 + 3 * S, 'fighting', T0 + 63 * S],
      [T0 + 63 * S - 1, 'fighting', T0 + 63 * S],
      [T0 + 63 * S, 'punishment', T0 + 73 * S],
      [T0 + 73 * S, 'ended', null],
    ])('at %i: %s, next due %s', (now, phase, due) => {
      const b = openBattle(1, 'auto', TRIO, SETTINGS, T0).next;
      const step = advance(b, now, topOf);
      const next = step.kind === 'moved' ? step.next : b;
      expect([next.phase, dueOf(next)]).toEqual([phase, due]);
    });

    it('skips a punishment of 0 s: fighting -> ended, finished', () => {
      const b = openBattle(1, 'auto', TRIO, { ...SETTINGS, punishmentS: 0 }, T0).next;
      const step = moved(advance(b, T0 + 63 * S, topOf));
      expect(step.events.map((e) => [e.data.from, e.data.to, e.data.reason])).toEqual([
        ['countdown', 'fighting', ''],
        ['fighting', 'ended', 'finished'],
      ]);
    });

    it('ends invite_timeout when no room answered, rejected when one did', () => {
      const b = openBattle(1, 'invite', TRIO, SETTINGS, T0).next;
      expect(moved(advance(b, T0 + 10 * S)).next).toMatchObject({
        phase: 'ended',
        reason: 'invite_timeout',
      });
      const one = moved(stepBattle(b, { kind: 'reject', room: 1 }, T0 + S)).next;
      expect(moved(advance(one, T0 + 10 * S)).next).toMatchObject({ reason: 'rejected' });
    });

    it('moves due phases before acting: a stop just after the fight ended finds it settled', () => {
      const b = at('fighting');
      const step = moved(
        stepBattle(b, { kind: 'stop', by: 1 }, (b.fightEndAt as number) + 1, topOf),
      );
      expect(step.events.map((e) => [e.data.from, e.data.to, e.data.reason])).toEqual([
        ['fighting', 'punishment', ''],
        ['punishment', 'ended', 'stopped'],
      ]);
    });
  });

  describe('settling', () => {
    const fight = (scores: number[]) => {
      const b = at('fighting');
      return { ...b, rooms: b.rooms.map((r, i) => ({ ...r, score: scores[i] })) };
    };

    it.each<[number[], [string, number][], string]>([
      [
        [5, 9, 1],
        [
          ['room_b', 1],
          ['room_a', 2],
          ['room_c', 3],
        ],
        'room_b',
      ],
      [
        [9, 9, 1],
        [
          ['room_a', 1],
          ['room_b', 1],
          ['room_c', 3],
        ],
        '',
      ],
      [
        [0, 0, 0],
        [
          ['room_a', 1],
          ['room_b', 1],
          ['room_c', 1],
        ],
        '',
      ],
      [
        [1, 4, 4],
        [
          ['room_b', 1],
          ['room_c', 1],
          ['room_a', 3],
        ],
        '',
      ],
      [
        [-2, 0, -1],
        [
          ['room_b', 1],
          ['room_c', 2],
          ['room_a', 3],
        ],
        'room_b',
      ],
    ])('scores %j rank %j, winner "%s"', (scores, ranking, winner) => {
      const b = fight(scores);
      expect(rankingOf(b).map((r) => [r.roomId, r.rank])).toEqual(ranking);
      expect(leaderOf(b)).toBe(winner);
    });

    it('freezes the winner and takes the MVP from the winning room', () => {
      const step = moved(stepBattle(fight([5, 9, 1]), { kind: 'stop', by: 0 }, T0 + 30 * S, topOf));
      expect(step.next).toMatchObject({
        phase: 'ended',
        reason: 'stopped',
        settled: true,
        winnerRoomId: 'room_b',
        mvp: tops.room_b,
      });
      const tie = moved(stepBattle(fight([9, 9, 1]), { kind: 'stop', by: 0 }, T0 + 30 * S, topOf));
      expect(tie.next).toMatchObject({ winnerRoomId: '', mvp: null });
      const noFans = moved(
        stepBattle(fight([1, 1, 5]), { kind: 'stop', by: 0 }, T0 + 30 * S, topOf),
      );
      expect(noFans.next).toMatchObject({ winnerRoomId: 'room_c', mvp: null });
    });

    it('leaves a battle that never fought without a result', () => {
      const step = moved(stepBattle(at('countdown'), { kind: 'relay_ended' }, T0 + S, topOf));
      expect(step.next).toMatchObject({ settled: false, winnerRoomId: '', mvp: null });
    });

    it.each<[BattlePhase, number, BattleAction['kind'] | undefined, boolean]>([
      ['countdown', T0 + S, 'stop', false],
      ['countdown', T0 + 3 * S, 'stop', true],
      ['fighting', T0 + 10 * S, undefined, false],
      ['fighting', T0 + 10 * S, 'relay_ended', true],
      ['fighting', T0 + 63 * S, undefined, true],
      ['punishment', T0 + 70 * S, 'stop', false],
      ['invited', T0 + 20 * S, 'stop', false],
    ])('%s at %i with %s: may settle %s', (phase, now, action, expected) => {
      expect(maySettle(at(phase), now, action)).toBe(expected);
    });
  });

  describe('scores in play', () => {
    it.each<[BattlePhase, string, number, 'delta' | 'score', number, string]>([
      ['fighting', 'room_a', T0 + 10 * S, 'delta', 5, 'in play: 5 (relay +5)'],
      ['fighting', 'room_a', T0 + 10 * S, 'score', 7, 'in play: 7 (relay +7)'],
      ['fighting', 'room_a', T0 + 63 * S - 1, 'delta', -3, 'in play: -3 (relay -3)'],
      ['fighting', 'room_a', T0 + 63 * S, 'delta', 5, 'out of play'],
      ['fighting', 'room_x', T0 + 10 * S, 'delta', 5, 'out of play'],
      ['countdown', 'room_a', T0 + S, 'delta', 5, 'out of play'],
      ['punishment', 'room_a', T0 + 65 * S, 'delta', 5, 'out of play'],
      ['ended', 'room_a', T0 + 65 * S, 'delta', 5, 'out of play'],
    ])('%s, %s at %i, %s %i: %s', (phase, roomId, now, kind, value, expected) => {
      const result = scoreBattle(at(phase), roomId, { kind, value }, now);
      const text =
        result.kind === 'in_play'
          ? `in play: ${result.next.rooms.find((r) => r.roomId === roomId)?.score} (relay ${result.relayDelta >= 0 ? '+' : ''}${result.relayDelta})`
          : result.kind === 'out_of_play'
            ? 'out of play'
            : String(result.code);
      expect(text).toBe(expected);
    });

    it('a score moves the relay by the difference to the battle score', () => {
      const b = at('fighting');
      const first = scoreBattle(b, 'room_b', { kind: 'delta', value: 10 }, T0 + 10 * S);
      if (first.kind !== 'in_play') throw new Error('expected in play');
      const second = scoreBattle(first.next, 'room_b', { kind: 'score', value: 4 }, T0 + 11 * S);
      expect(second).toMatchObject({ kind: 'in_play', relayDelta: -6 });
    });

    it('takes no score for a room that rejected', () => {
      const b = moved(stepBattle(at('invited'), { kind: 'reject', room: 2 }, T0 + S)).next;
      const fighting = {
        ...b,
        phase: 'fighting' as const,
        fightStartAt: T0,
        fightEndAt: T0 + 60 * S,
      };
      expect(scoreBattle(fighting, 'room_c', { kind: 'delta', value: 1 }, T0 + 2 * S).kind).toBe(
        'out_of_play',
      );
    });
  });
});
