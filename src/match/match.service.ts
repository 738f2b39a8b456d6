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
import { LiveStatus } from '../live-room/live-room.entity';
import { LiveRoomService } from '../live-room/live-room.service';
import { LiveRoomStore } from '../live-room/live-room.store';
import { StartRefused } from '../relay/relay-start';
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
import { pairs, stepTicket, Ticket, TicketAction } from './match.machine';
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
   * flight, in one transaction under one take of the pool's lock, in the order they arrived: a
   * burst pairs its requests with each other and with the waiting tickets, one commit for all.
   * A request refused (its room) is answered alone; the others go on.
   */
  private matchBatch(items: PendingMatch[]): Promise<Outcome<MatchView>[]> {
    const { user, pool } = items[0];
    return this.db.transaction(async (sql) => {
      await this.tickets.lockPool(sql, user.appId, pool);
      const now = this.clock.now();
      const outcomes: Outcome<MatchView>[] = [];
      for (const item of items) {
        try {
          outcomes.push({ ok: true, value: await this.matchOne(sql, item, now) });
        } catch (error) {
          // Refusals come before any write of the request; anything else undoes the batch.
          if (!(error instanceof DomainError)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      return outcomes;
    }, user);
  }

  private async matchOne(
    sql: Sql,
    { user, dto, pool }: PendingMatch,
    now: number,
  ): Promise<MatchView> {
    const timeoutMs = (dto.timeout_s ?? this.config.match.timeoutS) * 1000;
    const room = await this.rooms.find(sql, user.appId, dto.room_id);
    if (!room) throw notFound(`room ${dto.room_id} not found`);
    if (room.anchorId !== user.userId) {
      throw forbidden(`you are not the anchor of room ${room.liveId}`);
    }
    if (room.liveStatus !== LiveStatus.Live) {
      throw badStatus(notLiveMessage(room, this.config.roomHeartbeatTimeoutS));
    }
    if (room.pkId !== '') {
      throw badStatus(`room ${room.liveId} is already in relay ${room.pkId}`);
    }
    const own = await this.tickets.waitingOf(sql, user.appId, room.liveId);
    if (own !== null) return toTicketView(own);
    const ticket: Ticket = {
      matchId: `match_${randomUUID().replace(/-/g, '')}`,
      appId: user.appId,
      roomId: room.liveId,
      userId: user.userId,
      pool,
      state: 'waiting',
      reason: '',
      relayId: '',
      createdAt: now,
      expiresAt: now + timeoutMs,
      updatedAt: now,
    };
    for (;;) {
      const candidates = (
        await this.tickets.oldestWaiting(sql, user.appId, pool, now, CANDIDATES)
      ).filter((t) => pairs(t, user.userId, room.liveId, now));
      if (candidates.length === 0) {
        await this.tickets.insert(sql, ticket);
        return toTicketView(ticket);
      }
      for (const partner of candidates) {
        const s = await this.pair(sql, partner, ticket);
        if (s === null) continue;
        const matched = this.moved(ticket, { kind: 'match', relayId: s.relayId }, now);
        await this.tickets.insert(sql, matched);
        return { ...toTicketView(matched), ...this.tokensOf(s) };
      }
    }
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
   * Opens the relay of a waiting ticket's room (the initiator) and the caller's, in `sql`, and
   * marks the waiting ticket matched. A waiting room that has gone (not live, in another relay)
   * has its ticket cancelled and null is answered, to try the next; a refusal of the caller's
   * own room is the request's.
   */
  private async pair(sql: Sql, partner: Ticket, ticket: Ticket): Promise<Relay | null> {
    let s: Relay;
    try {
      s = await this.relays.open(sql, {
        appId: ticket.appId,
        caller: null,
        initRoomId: partner.roomId,
        receivers: [{ roomId: ticket.roomId, userId: ticket.userId }],
        mode: 'auto',
        durationS: null,
        extends: {},
        origin: 'match',
      });
    } catch (error) {
      if (!(error instanceof StartRefused) || error.roomId !== partner.roomId) throw error;
      const why = error.why === 'busy' ? 'room_busy' : 'room_not_live';
      await this.tickets.move(sql, this.moved(partner, { kind: why }, this.clock.now()));
      return null;
    }
    await this.tickets.move(
      sql,
      this.moved(partner, { kind: 'match', relayId: s.relayId }, s.createdAt),
    );
    return s;
  }

  /** The caller's answer once matched: what an accept answers (the receiver is the caller). */
  private tokensOf(s: Relay): Pick<MatchView, 'relay_status' | 'relay_token' | 'relay_tokens'> {
    const { relay_status, relay_token, relay_tokens } = this.relays.tokenView(s, 1);
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
