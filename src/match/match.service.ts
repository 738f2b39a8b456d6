import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClientUser } from '../auth/client-user';
import { Clock } from '../common/clock';
import { badStatus, DomainError, forbidden, notFound } from '../common/domain.error';
import { Coalescer, Outcome } from '../common/coalescer';
import { inParallel } from '../common/in-parallel';
import { Sweeper } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { Database, Sql, SqlReader } from '../database/database.service';
import { LiveRoom, LiveStatus } from '../live-room/live-room.entity';
import { LiveRoomService } from '../live-room/live-room.service';
import { LiveRoomStore } from '../live-room/live-room.store';
import { StartRequest } from '../relay/relay-start';
import { RelayService } from '../relay/relay.service';
import { Relay } from '../relay/relay.store';
import {
  MatchDto,
  MatchTicketView,
  MatchView,
  PoolQuery,
  PoolView,
  toTicketView,
} from './match.dto';
import { Pairing, PairPlan, planPairs, stepTicket, Ticket, TicketAction } from './match.machine';
import { MatchStore } from './match.store';
import { notLiveMessage } from '../live-room/live-room.silence';

/** How many waiting tickets a request looks at in one read; more are read when some went. */
const CANDIDATES = 8;

/** A match request waiting for the transaction of its pool. */
interface PendingMatch {
  user: ClientUser;
  dto: MatchDto;
  pool: string;
}

/**
 * Random PK (docs/concepts.md, "Random PK"): a request pairs with the ticket that has waited
 * longest in its pool, or leaves a ticket of its own. Every request of a pool takes the pool's
 * lock first (MatchStore.lockPool), so of two requests that arrive together on any nodes the
 * second finds the first's ticket: no request waits while a compatible ticket does. The relay is
 * opened through the relay's own start path, in the transaction that marks the tickets matched.
 */
@Injectable()
export class MatchService {
  private readonly logger = new Logger(MatchService.name);
  private readonly requests = new Coalescer<string, PendingMatch, MatchView>((_, items) =>
    this.matchBatch(items),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly tickets: MatchStore,
    private readonly rooms: LiveRoomStore,
    private readonly relays: RelayService,
    private readonly clock: Clock,
    liveRooms: LiveRoomService,
  ) {
    // A waiting room that enters another relay, or stops being live, stops waiting.
    relays.onOpened((sql, s) =>
      s.origin === 'match' ? Promise.resolve() : this.roomsBusy(sql, s),
    );
    liveRooms.onRoomEnded((sql, room) => this.roomEnded(sql, room.appId, room.liveId));
  }

  match(user: ClientUser, dto: MatchDto): Promise<MatchView> {
    const pool = dto.pool ?? 'default';
    return this.requests.submit(`${user.appId}\u0000${pool}`, { user, dto, pool });
  }

  /**
   * The requests of one pool that arrived on this node while its previous transaction was in
   * flight, in one transaction under one take of the pool's lock: they are paired as if they
   * came one after another (planPairs), with the waiting tickets and with each other, and
   * written with a few statements whatever their number. A request refused (its room) is
   * answered alone; the others go on.
   */
  private matchBatch(items: PendingMatch[]): Promise<Outcome<MatchView>[]> {
    const { user, pool } = items[0];
    const appId = user.appId;
    return this.db.transaction(async (sql) => {
      await this.tickets.lockPool(sql, appId, pool);
      const now = this.clock.now();
      const asked = [...new Set(items.map((item) => item.dto.room_id))];
      const own = new Map(
        (await this.tickets.waitingOfRooms(sql, appId, asked)).map((t) => [t.roomId, t]),
      );
      // Enough waiting tickets for every request, and a few more in case some rooms went; if
      // a request would still wait while more tickets wait unread, read more.
      for (let limit = items.length + CANDIDATES; ; limit *= 2) {
        const waiting = await this.tickets.oldestWaiting(sql, appId, pool, now, limit);
        const ids = [...new Set([...asked, ...waiting.map((t) => t.roomId)])];
        const rooms = new Map(
          (await this.rooms.findAll(sql, appId, ids)).map((room) => [room.liveId, room]),
        );
        const listed = new Set(waiting.map((t) => t.matchId));
        const early = items.map((item): Outcome<MatchView> | null => {
          const refused = refusalOfAsker(
            item,
            rooms.get(item.dto.room_id),
            this.config.roomHeartbeatTimeoutS,
          );
          if (refused) return { ok: false, error: refused };
          // A waiting ticket that pairing cannot touch (another pool's, or one past its time
          // that the sweep has not reached) answers its room's request as it is.
          const t = own.get(item.dto.room_id);
          return t && !listed.has(t.matchId) ? { ok: true, value: toTicketView(t) } : null;
        });
        const askers = items.map((item, i) =>
          early[i] ? null : { userId: item.user.userId, roomId: item.dto.room_id },
        );
        const plan = planPairs(waiting, askers, goneRooms(waiting, rooms), now);
        if (waiting.length === limit && leftWaiting(plan.pairings) > 0) continue;
        return this.carryOut(sql, items, early, plan, waiting, rooms, now);
      }
    }, user);
  }

  /** Writes a burst's plan (relays, new tickets, moved tickets) and answers each request. */
  private async carryOut(
    sql: Sql,
    items: PendingMatch[],
    early: (Outcome<MatchView> | null)[],
    plan: PairPlan,
    waiting: Ticket[],
    rooms: ReadonlyMap<string, LiveRoom>,
    now: number,
  ): Promise<Outcome<MatchView>[]> {
    const fresh = items.map((item): Ticket => {
      const timeoutMs = (item.dto.timeout_s ?? this.config.match.timeoutS) * 1000;
      return {
        matchId: `match_${randomUUID().replace(/-/g, '')}`,
        appId: item.user.appId,
        roomId: item.dto.room_id,
        userId: item.user.userId,
        pool: item.pool,
        state: 'waiting',
        reason: '',
        relayId: '',
        createdAt: now,
        expiresAt: now + timeoutMs,
        updatedAt: now,
      };
    });
    const pairsAt: number[] = [];
    const starts: StartRequest[] = [];
    plan.pairings.forEach((p, i) => {
      if (p?.kind !== 'pair') return;
      const partner = 'ticket' in p ? waiting[p.ticket] : fresh[p.asker];
      pairsAt.push(i);
      starts.push({
        appId: partner.appId,
        caller: null,
        initRoomId: partner.roomId,
        receivers: [{ roomId: fresh[i].roomId, userId: fresh[i].userId }],
        mode: 'auto',
        durationS: null,
        extends: {},
        origin: 'match',
      });
    });
    const opened = await this.relays.openAll(sql, starts, rooms);
    const relayOf = new Map(pairsAt.map((i, n) => [i, opened[n]]));
    const final = [...fresh];
    const moved: Ticket[] = plan.cancelled.map(({ ticket, reason }) =>
      this.moved(waiting[ticket], { kind: reason }, now),
    );
    /** The relay each matched request is in, and its index among the relay's rooms. */
    const seat = new Map<number, { s: Relay; index: number }>();
    for (const [i, s] of relayOf) {
      const p = plan.pairings[i] as Extract<Pairing, { kind: 'pair' }>;
      final[i] = this.moved(fresh[i], { kind: 'match', relayId: s.relayId }, now);
      seat.set(i, { s, index: 1 });
      if ('ticket' in p) {
        moved.push(this.moved(waiting[p.ticket], { kind: 'match', relayId: s.relayId }, now));
      } else {
        final[p.asker] = this.moved(fresh[p.asker], { kind: 'match', relayId: s.relayId }, now);
        seat.set(p.asker, { s, index: 0 });
      }
    }
    const made = plan.pairings.flatMap((p, i) =>
      p?.kind === 'wait' || p?.kind === 'pair' ? [final[i]] : [],
    );
    await this.tickets.insertAll(sql, made);
    await this.tickets.moveAll(sql, moved);
    return plan.pairings.map((p, i): Outcome<MatchView> => {
      if (p === null) return early[i] as Outcome<MatchView>;
      switch (p.kind) {
        case 'own':
          return { ok: true, value: toTicketView(waiting[p.ticket]) };
        case 'same':
          return { ok: true, value: toTicketView(final[p.asker]) };
        case 'busy': {
          const s = (relayOf.get(p.pairOf) as Relay).relayId;
          return {
            ok: false,
            error: badStatus(`room ${fresh[i].roomId} is already in relay ${s}`),
          };
        }
        default: {
          const at = seat.get(i);
          const view = toTicketView(final[i]);
          return { ok: true, value: at ? { ...view, ...this.tokensOf(at.s, at.index) } : view };
        }
      }
    });
  }

  async get(user: ClientUser, matchId: string): Promise<MatchTicketView> {
    return toTicketView(await this.db.read((sql) => this.own(sql, user, matchId)));
  }

  /** Withdraws a waiting ticket; one that has stopped waiting is answered as it is. */
  cancel(user: ClientUser, matchId: string): Promise<MatchTicketView> {
    return this.db.transaction(async (sql) => {
      const ticket = await this.own(sql, user, matchId);
      const step = stepTicket(ticket, { kind: 'cancel' }, this.clock.now());
      if (step.kind === 'refused') throw new DomainError(step.code, step.message);
      if (step.kind === 'unchanged') return toTicketView(ticket);
      await this.tickets.move(sql, step.next);
      return toTicketView(step.next);
    }, user);
  }

  async count(user: ClientUser, query: PoolQuery): Promise<PoolView> {
    const pool = query.pool ?? 'default';
    const waiting = await this.db.read((sql) =>
      this.tickets.countWaiting(sql, user.appId, pool, this.clock.now()),
    );
    return { pool, waiting };
  }

  /**
   * Times out the tickets still waiting at their expiry, at most `limit` of them. Each move is
   * conditional on the ticket still waiting, so it is made once, whichever node gets there.
   */
  async expireDue(limit: number): Promise<number> {
    const now = this.clock.now();
    const due = await this.db.read((sql) => this.tickets.findExpired(sql, now, limit));
    await inParallel(due, Sweeper.CONCURRENCY, (ticket) =>
      this.db
        .transaction(async (sql) => {
          const step = stepTicket(ticket, { kind: 'expire' }, this.clock.now());
          if (step.kind === 'moved') await this.tickets.move(sql, step.next);
        })
        .catch((error: unknown) =>
          this.logger.error(`timing out ticket ${ticket.matchId} failed: ${String(error)}`),
        ),
    );
    return due.length;
  }

  /**
   * A matched request's answer: what an accept answers, for its room's place in the relay (the
   * receiver, or the initiator when a later request of the same burst paired with it).
   */
  private tokensOf(
    s: Relay,
    index: number,
  ): Pick<MatchView, 'relay_status' | 'relay_token' | 'relay_tokens'> {
    const { relay_status, relay_token, relay_tokens } = this.relays.tokenView(s, index);
    return { relay_status, relay_token, relay_tokens };
  }

  private moved(t: Ticket, action: TicketAction, now: number): Ticket {
    const step = stepTicket(t, action, now);
    if (step.kind !== 'moved') throw new Error(`ticket ${t.matchId} cannot ${action.kind}`);
    return step.next;
  }

  private async own(sql: SqlReader, user: ClientUser, matchId: string): Promise<Ticket> {
    const ticket = await this.tickets.find(sql, user.appId, matchId);
    if (ticket === null) throw notFound(`ticket ${matchId} not found`);
    if (ticket.userId !== user.userId) throw forbidden(`ticket ${matchId} is not yours`);
    return ticket;
  }

  private async roomsBusy(sql: Sql, s: Relay): Promise<void> {
    const rooms = s.rooms.map((r) => r.roomId);
    for (const t of await this.tickets.waitingOfRooms(sql, s.appId, rooms)) {
      await this.tickets.move(sql, this.moved(t, { kind: 'room_busy' }, s.createdAt));
    }
  }

  private async roomEnded(sql: Sql, appId: string, roomId: string): Promise<void> {
    const [t] = await this.tickets.waitingOfRooms(sql, appId, [roomId]);
    if (t !== undefined)
      await this.tickets.move(sql, this.moved(t, { kind: 'room_not_live' }, this.clock.now()));
  }
}

/** Why a request cannot ask with its room, as the start path would refuse it; null if it can. */
function refusalOfAsker(
  item: PendingMatch,
  room: LiveRoom | undefined,
  heartbeatTimeoutS: number,
): DomainError | null {
  if (!room) return notFound(`room ${item.dto.room_id} not found`);
  if (room.anchorId !== item.user.userId) {
    return forbidden(`you are not the anchor of room ${room.liveId}`);
  }
  if (room.liveStatus !== LiveStatus.Live) {
    return badStatus(notLiveMessage(room, heartbeatTimeoutS));
  }
  if (room.pkId !== '') return badStatus(`room ${room.liveId} is already in relay ${room.pkId}`);
  return null;
}

/** The waiting tickets whose room is no longer live, or is in a relay, and why. */
function goneRooms(
  waiting: Ticket[],
  rooms: ReadonlyMap<string, LiveRoom>,
): Map<string, 'room_busy' | 'room_not_live'> {
  const gone = new Map<string, 'room_busy' | 'room_not_live'>();
  for (const t of waiting) {
    const room = rooms.get(t.roomId);
    if (!room || room.liveStatus !== LiveStatus.Live) gone.set(t.roomId, 'room_not_live');
    else if (room.pkId !== '') gone.set(t.roomId, 'room_busy');
  }
  return gone;
}

/** How many requests of a plan end up waiting (a `wait` that a later request paired with does not). */
function leftWaiting(pairings: PairPlan['pairings']): number {
  const joined = new Set(
    pairings.flatMap((p) => (p?.kind === 'pair' && 'asker' in p ? [p.asker] : [])),
  );
  return pairings.filter((p, i) => p?.kind === 'wait' && !joined.has(i)).length;
}
