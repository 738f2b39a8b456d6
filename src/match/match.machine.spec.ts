import { pairs, stepTicket, Ticket, TicketAction, TicketState } from './match.machine';

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
