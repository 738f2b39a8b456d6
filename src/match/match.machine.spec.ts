import { pairs, planPairs, stepTicket, Ticket, TicketAction, TicketState } from './match.machine';

const T0 = 1_800_000_000_000;
const ticket = (state: TicketState, extra: Partial<Ticket> = {}): Ticket => ({
  matchId: 'match_1',
  appId: 'default',
  roomId: 'room_a',
  userId: 'alice',
  pool: 'default',
  state,
  reason:
    state === 'waiting' || state === 'matched' ? '' : state === 'timeout' ? 'timeout' : 'cancelled',
  relayId: state === 'matched' ? 'relay_1' : '',
  createdAt: T0,
  expiresAt: T0 + 60_000,
  updatedAt: T0,
  ...extra,
});

describe('matchmaking ticket', () => {
  const actions: Record<string, TicketAction> = {
    match: { kind: 'match', relayId: 'relay_9' },
    cancel: { kind: 'cancel' },
    room_busy: { kind: 'room_busy' },
    room_not_live: { kind: 'room_not_live' },
    expire: { kind: 'expire' },
  };
  // '=' unchanged, '601' refused, else `state reason relay`.
  const table: Record<TicketState, Record<keyof typeof actions, string>> = {
    waiting: {
      match: 'matched  relay_9',
      cancel: 'cancelled cancelled ',
      room_busy: 'cancelled room_busy ',
      room_not_live: 'cancelled room_not_live ',
      expire: 'timeout timeout ',
    },
    matched: { match: '=', cancel: '601', room_busy: '=', room_not_live: '=', expire: '=' },
    cancelled: { match: '=', cancel: '=', room_busy: '=', room_not_live: '=', expire: '=' },
    timeout: { match: '=', cancel: '=', room_busy: '=', room_not_live: '=', expire: '=' },
  };
  const rows = Object.entries(table).flatMap(([state, cells]) =>
    Object.entries(cells).map(
      ([action, expected]) => [state as TicketState, action, expected] as const,
    ),
  );

  it.each(rows)('%s + %s -> %s', (state, action, expected) => {
    const step = stepTicket(ticket(state), actions[action], T0 + 60_000);
    const got =
      step.kind === 'moved'
        ? `${step.next.state} ${step.next.reason} ${step.next.relayId}`
        : step.kind === 'unchanged'
          ? '='
          : String(step.code);
    expect(got).toBe(expected);
  });

  it('expires at its due time, not a millisecond before', () => {
    expect(stepTicket(ticket('waiting'), { kind: 'expire' }, T0 + 59_999).kind).toBe('unchanged');
    expect(stepTicket(ticket('waiting'), { kind: 'expire' }, T0 + 60_000)).toMatchObject({
      kind: 'moved',
      next: { state: 'timeout', reason: 'timeout', updatedAt: T0 + 60_000 },
    });
  });

  it.each<[string, Partial<Ticket>, string, string, number, boolean]>([
    ['another anchor, another room', {}, 'bob', 'room_b', T0 + 1, true],
    ['the same anchor', {}, 'alice', 'room_b', T0 + 1, false],
    ['the same room', {}, 'bob', 'room_a', T0 + 1, false],
    ['a ticket past its time', {}, 'bob', 'room_b', T0 + 60_000, false],
    ['a matched ticket', { state: 'matched' }, 'bob', 'room_b', T0 + 1, false],
  ])('pairs with %s: %s', (_, extra, userId, roomId, now, expected) => {
    expect(pairs(ticket('waiting', extra), userId, roomId, now)).toBe(expected);
  });
});

describe(planPairs.name, () => {
  // Waiting tickets are written `user@room`, askers `user@room` too (or '-' for one refused
  // before pairing); each expected pairing is a short code: `t0` paired with waiting[0], `a1`
  // with asker 1, `wait`, `own0`, `same1`, `busy1` (its room went into asker 1's pair), `-`.
  const waitingOf = (specs: string[]) =>
    specs.map((spec, k) => {
      const [userId, roomId] = spec.split('@');
      return ticket('waiting', { matchId: `m${k}`, userId, roomId, createdAt: T0 + k });
    });
  const askersOf = (specs: string[]) =>
    specs.map((spec) => {
      if (spec === '-') return null;
      const [userId, roomId] = spec.split('@');
      return { userId, roomId };
    });
  const code = (p: ReturnType<typeof planPairs>['pairings'][number]): string => {
    if (p === null) return '-';
    switch (p.kind) {
      case 'own':
        return `own${p.ticket}`;
      case 'same':
        return `same${p.asker}`;
      case 'busy':
        return `busy${p.pairOf}`;
      case 'pair':
        return 'ticket' in p ? `t${p.ticket}` : `a${p.asker}`;
      case 'wait':
        return 'wait';
    }
  };

  it.each([
    [
      'nobody waits: the first waits, the next pairs with it',
      [],
      ['a@1', 'b@2'],
      [],
      ['wait', 'a0'],
    ],
    ['the longest waiter first', ['w@9', 'x@8'], ['a@1'], [], ['t0']],
    [
      'a burst takes the waiting, then each other',
      ['w@9'],
      ['a@1', 'b@2', 'c@3'],
      [],
      ['t0', 'wait', 'a1'],
    ],
    ['an anchor never pairs with itself', ['a@9'], ['a@1'], [], ['wait']],
    ['asking again answers the waiting ticket', ['a@1'], ['a@1'], [], ['own0']],
    ['the same room twice in a burst: one ticket', [], ['a@1', 'a@1'], [], ['wait', 'same0']],
    ['a room paired earlier in the burst is busy', ['w@9'], ['a@1', 'a@1'], [], ['t0', 'busy0']],
    [
      'a waiting room taken by an earlier pair is busy',
      ['w@9'],
      ['a@1', 'w@9'],
      [],
      ['t0', 'busy0'],
    ],
    [
      'a waiting ticket whose room went is cancelled and skipped',
      ['w@9', 'x@8'],
      ['a@1'],
      ['9'],
      ['t1'],
    ],
    ['refused requests take no part', ['w@9'], ['-', 'a@1'], [], ['-', 't0']],
    [
      'a fresh ticket of the same anchor is skipped',
      [],
      ['a@1', 'a@2', 'b@3'],
      [],
      ['wait', 'wait', 'a0'],
    ],
  ])('%s', (_, waiting, askers, gone, expected) => {
    const plan = planPairs(
      waitingOf(waiting),
      askersOf(askers),
      new Map(gone.map((room) => [room, 'room_not_live' as const])),
      T0 + 1000,
    );
    expect(plan.pairings.map(code)).toEqual(expected);
    expect(plan.cancelled.map((c) => waiting[c.ticket].split('@')[1])).toEqual(gone);
  });

  it('never pairs an expired waiting ticket', () => {
    const [stale] = waitingOf(['w@9']);
    const plan = planPairs([{ ...stale, expiresAt: T0 }], askersOf(['a@1']), new Map(), T0 + 1);
    expect(plan.pairings.map(code)).toEqual(['wait']);
  });

  it('pairs every ticket and room at most once in a large burst', () => {
    const waiting = waitingOf(Array.from({ length: 30 }, (_, k) => `w${k}@w${k}`));
    const askers = askersOf(Array.from({ length: 101 }, (_, i) => `u${i}@r${i}`));
    const plan = planPairs(waiting, askers, new Map(), T0 + 1000);
    const partners = plan.pairings.flatMap((p) =>
      p?.kind === 'pair' ? ['ticket' in p ? `t${p.ticket}` : `a${p.asker}`] : [],
    );
    expect(new Set(partners).size).toBe(partners.length);
    const waits = plan.pairings.filter((p) => p?.kind === 'wait').length;
    const joined = partners.filter((p) => p.startsWith('a')).length;
    expect({ pairs: partners.length, leftWaiting: waits - joined }).toEqual({
      pairs: 30 + 35,
      leftWaiting: 1,
    });
  });
});
