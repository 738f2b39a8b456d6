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

/** A request of a burst as pairing sees it: its anchor and room, already found fit to ask. */
export interface Asker {
  userId: string;
  roomId: string;
}

/** What becomes of one request of a burst, taken in the order the requests arrived. */
export type Pairing =
  /** Its room's waiting ticket `waiting[ticket]` answers it (asking again). */
  | { kind: 'own'; ticket: number }
  /** An earlier request of the burst for the same room left a ticket that answers it. */
  | { kind: 'same'; asker: number }
  /** Its room went into the relay of the pair that request `pairOf` made. */
  | { kind: 'busy'; pairOf: number }
  /** Paired with a waiting ticket, or with an earlier request of the burst that would wait. */
  | { kind: 'pair'; ticket: number }
  | { kind: 'pair'; asker: number }
  | { kind: 'wait' };

export interface PairPlan {
  /** One per asker; null askers (refused before pairing) get null. */
  pairings: (Pairing | null)[];
  /** Waiting tickets met on the way whose room went, with why: they are cancelled. */
  cancelled: { ticket: number; reason: 'room_busy' | 'room_not_live' }[];
}

/**
 * Pairs a burst of requests of one pool as if they came one after another: each takes the
 * longest-waiting compatible ticket (those read, oldest first, then the burst's own new
 * tickets), and waits only when there is none. `gone` says which waiting tickets' rooms are no
 * longer live or free. Nothing is matched twice and no room is paired twice.
 */
export function planPairs(
  waiting: readonly Ticket[],
  askers: readonly (Asker | null)[],
  gone: ReadonlyMap<string, 'room_busy' | 'room_not_live'>,
  now: number,
): PairPlan {
  const taken = new Set<number>();
  const cancelled: PairPlan['cancelled'] = [];
  /** Room -> the request whose pair took it. */
  const paired = new Map<string, number>();
  /** Askers whose new ticket is waiting, in order, and by room. */
  const fresh: number[] = [];
  const freshByRoom = new Map<string, number>();
  const pairings = askers.map((a, i): Pairing | null => {
    if (a === null) return null;
    const pairOf = paired.get(a.roomId);
    if (pairOf !== undefined) return { kind: 'busy', pairOf };
    const own = waiting.findIndex((t, k) => !taken.has(k) && t.roomId === a.roomId);
    if (own >= 0) return { kind: 'own', ticket: own };
    const same = freshByRoom.get(a.roomId);
    if (same !== undefined) return { kind: 'same', asker: same };
    const take = (rooms: string[]) => rooms.forEach((room) => paired.set(room, i));
    for (let k = 0; k < waiting.length; k++) {
      const t = waiting[k];
      if (taken.has(k) || !pairs(t, a.userId, a.roomId, now)) continue;
      taken.add(k);
      const reason = gone.get(t.roomId);
      if (reason !== undefined) {
        cancelled.push({ ticket: k, reason });
        continue;
      }
      take([t.roomId, a.roomId]);
      return { kind: 'pair', ticket: k };
    }
    for (const j of fresh) {
      const other = askers[j] as Asker;
      if (paired.has(other.roomId) || other.userId === a.userId) continue;
      freshByRoom.delete(other.roomId);
      take([other.roomId, a.roomId]);
      return { kind: 'pair', asker: j };
    }
    fresh.push(i);
    freshByRoom.set(a.roomId, i);
    return { kind: 'wait' };
  });
  return { pairings, cancelled };
}
