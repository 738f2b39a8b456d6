/**
 * The matchmaking ticket of docs/concepts.md, "Random PK", as pure functions: no Nest, no
 * database, no clock of its own. A ticket waits in a pool until it is matched with another
 * anchor's, cancelled, or timed out; only a waiting ticket moves, and each move is made once.
 */

export const TICKET_STATES = ['waiting', 'matched', 'cancelled', 'timeout'] as const;
export type TicketState = (typeof TICKET_STATES)[number];

/** Why a ticket stopped waiting without a match. */
export const TICKET_REASONS = ['cancelled', 'room_busy', 'room_not_live', 'timeout'] as const;
export type TicketReason = (typeof TICKET_REASONS)[number];

export interface Ticket {
  matchId: string;
  appId: string;
  roomId: string;
  userId: string;
  pool: string;
  state: TicketState;
  reason: TicketReason | '';
  /** The relay it was matched into; "" until then. */
  relayId: string;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

export type TicketAction =
  | { kind: 'match'; relayId: string }
  /** Its anchor withdrew it. */
  | { kind: 'cancel' }
  /** Its room entered another relay. */
  | { kind: 'room_busy' }
  /** Its room stopped being live. */
  | { kind: 'room_not_live' }
  /** Its time ran out (due at `expiresAt`). */
  | { kind: 'expire' };

export type TicketStep =
  | { kind: 'moved'; next: Ticket }
  | { kind: 'unchanged' }
  | { kind: 'refused'; code: 601; message: string };

const UNCHANGED = { kind: 'unchanged' } as const;

/**
 * Every move a ticket may make. Only a waiting ticket moves: a second cancel of one that has
 * stopped waiting changes nothing (a retry), except that a matched ticket cannot be cancelled
 * (its relay exists: the anchor stops the relay instead). A ticket expires at its due time, not
 * a moment before, whatever asks.
 */
export function stepTicket(t: Ticket, action: TicketAction, now: number): TicketStep {
  if (t.state !== 'waiting') {
    if (action.kind === 'cancel' && t.state === 'matched') {
      return {
        kind: 'refused',
        code: 601,
        message: `ticket ${t.matchId} is matched into relay ${t.relayId}: stop the relay instead`,
      };
    }
    return UNCHANGED;
  }
  const to = (state: TicketState, reason: TicketReason | '', relayId = ''): TicketStep => ({
    kind: 'moved',
    next: { ...t, state, reason, relayId, updatedAt: now },
  });
  switch (action.kind) {
    case 'match':
      return to('matched', '', action.relayId);
    case 'cancel':
      return to('cancelled', 'cancelled');
    case 'room_busy':
    case 'room_not_live':
      return to('cancelled', action.kind);
    case 'expire':
      return now >= t.expiresAt ? to('timeout', 'timeout') : UNCHANGED;
  }
}

/** Whether a waiting ticket may be paired with a request of `userId` for `roomId`. */
export function pairs(waiting: Ticket, userId: string, roomId: string, now: number): boolean {
  return (
    waiting.state === 'waiting' &&
    now < waiting.expiresAt &&
    waiting.userId !== userId &&
    waiting.roomId !== roomId
  );
}
