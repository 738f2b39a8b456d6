import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClientUser } from '../auth/client-user';
import { Clock } from '../common/clock';
import {
  badRequest,
  badStatus,
  DomainError,
  ErrorCode,
  forbidden,
  notFound,
} from '../common/domain.error';
import {
  initialExtends,
  mergeExtends,
  parseExtends,
  serializeExtends,
} from '../common/extends.map';
import { Coalescer, Outcome } from '../common/coalescer';
import { sweepInTurns } from '../common/in-parallel';
import { DEFAULT_PAGE_SIZE, readPage } from '../common/page';
import { RequestIdentity } from '../common/request-identity';
import { Sweeper } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { ConcurrentUpdate, Database, Sql } from '../database/database.service';
import { EventLog } from '../event-log/event-log.service';
import { KeepAnswer } from '../idempotency/idempotency.service';
import { LiveRoom } from '../live-room/live-room.entity';
import { LiveRoomService, RoomEndReason } from '../live-room/live-room.service';
import { LiveRoomStore } from '../live-room/live-room.store';
import {
  ListRelaysQuery,
  RelayExtendsView,
  RelayListView,
  RelaySessionView,
  RelayStatusView,
  RelayTokenView,
  receiversOf,
  ScoreDto,
  ScoreView,
  ServerListRelaysQuery,
  ServerStartRelayDto,
  StartRelayDto,
  statusesOf,
  toRelayView,
  UpdateExtendsDto,
} from './relay.dto';
import { BattleEvent, BattleWork, NO_BATTLES, RelayBattles } from './relay-battles';
import { battleEvent, relayEvent, RelayEventBody } from './relay.events';
import {
  Actor,
  isConnected,
  isIn,
  isRoomConnected,
  isTerminal,
  nextDeadline,
  openRelay,
  RelayAction,
  RelayTimers,
  statusPhrase,
  transition,
} from './relay.machine';
import { applyScore, initialScores, parseChange, ScoreChange } from './relay.score';
import { refusalOf, StartRequest } from './relay-start';
import { Relay, RelayOrigin, RelayStore } from './relay.store';
import { signRoomToken } from './relay-token';

/**
 * An event a change records, with the relay as it is right after that event: one of the relay's
 * own, or one of its battle's.
 */
type Entry = ({ state: Relay; body: RelayEventBody } | { state: Relay; battle: BattleEvent }) & {
  /** The request that caused it, when the transaction serves several (a batch of gifts). */
  cause?: RequestIdentity;
};

/** A score request waiting for the transaction of its relay. */
interface PendingScore {
  dto: ScoreDto;
  change: ScoreChange;
  who: RequestIdentity;
  /** When it arrived, by this node's clock. */
  at: number;
}

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

/** Glue: load, ask the machine, persist the change and its effects in one short transaction. */
@Injectable()
export class RelayService {
  private readonly timers: RelayTimers;
  private readonly logger = new Logger(RelayService.name);
  private battles: RelayBattles = NO_BATTLES;
  private readonly scores = new Coalescer<string, PendingScore, ScoreView>((relayId, items) =>
    this.scoreBatch(relayId, items),
  );
  private readonly openHooks: ((sql: Sql, s: Relay) => Promise<void>)[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly relays: RelayStore,
    private readonly events: EventLog,
    private readonly rooms: LiveRoomStore,
    private readonly clock: Clock,
    liveRooms: LiveRoomService,
  ) {
    this.timers = {
      inviteTimeoutS: config.relay.inviteTimeoutS,
      joinTimeoutS: config.relay.joinTimeoutS,
    };
    liveRooms.onRoomEnded((sql, room, reason) => this.endForRoom(sql, room, reason));
  }

  /** The battle module registers here (battles know the relay, the relay knows this interface). */
  useBattles(battles: RelayBattles): void {
    this.battles = battles;
  }

  /** `keep`, when given, stores the answer for idempotent retries in the relay's transaction. */
  start(user: ClientUser, dto: StartRelayDto, keep?: KeepAnswer): Promise<RelayTokenView> {
    const request = this.startRequest(user.appId, user.userId, dto, 'invite');
    return this.db.transaction(async (sql) => {
      const s = await this.open(sql, request);
      const answer = this.tokenView(s, 0);
      await keep?.(sql, answer);
      return answer;
    }, user);
  }

  /**
   * Server API: the client start with the caller's checks left out; the initiator is the anchor
   * of `init_room_id`, and a start that names no mode is `auto`.
   */
  startAny(
    dto: ServerStartRelayDto,
    who: RequestIdentity,
    keep?: KeepAnswer,
  ): Promise<RelayStatusView> {
    const request = this.startRequest(dto.app_id, null, { mode: 'auto', ...dto }, 'server');
    return this.db.transaction(async (sql) => {
      const answer = statusView(await this.open(sql, request));
      await keep?.(sql, answer);
      return answer;
    }, who);
  }

  /** A start's body, checked as far as the body alone decides (400). */
  startRequest(
    appId: string,
    caller: string | null,
    dto: StartRelayDto,
    origin: RelayOrigin,
  ): StartRequest {
    // In the order of the checks: the body's fields, then how its rooms relate.
    const extendsMap = initialExtends(dto.extends);
    return {
      appId,
      caller,
      initRoomId: dto.init_room_id,
      receivers: receiversOf(dto, caller),
      mode: dto.mode ?? this.config.relay.defaultMode,
      durationS: dto.duration_s ?? null,
      extends: extendsMap,
      origin,
    };
  }

  /**
   * The one start path (docs/concepts.md, "Relays"), inside the caller's transaction: the checks
   * of a start in their order, then every room claimed and the relay recorded. Nothing is
   * written before every check has passed, so a refusal (a StartRefused) leaves the transaction
   * as it was; the rooms are locked in key order, so that overlapping starts queue.
   */
  async open(sql: Sql, request: StartRequest): Promise<Relay> {
    const liveIds = [request.initRoomId, ...request.receivers.map((r) => r.roomId)];
    const locked = await this.rooms.lockAll(sql, request.appId, liveIds);
    const byId = new Map(locked.map((room) => [room.liveId, room]));
    const refused = refusalOf(request, byId, this.config.roomHeartbeatTimeoutS);
    if (refused) throw refused;
    const now = this.clock.now();
    const opening = this.opening(request, byId, now);
    // Locked and checked above, so a claim that fails is a race this database let through
    // (one that does not hold row locks across nodes): the whole start runs again.
    if (!(await this.rooms.claimAll(sql, liveIds, opening.s.relayId, now))) {
      throw new ConcurrentUpdate();
    }
    return (await this.recordOpened(sql, [opening], now))[0];
  }

  /**
   * Opens several relays at once (a burst of matches): one statement claims all their rooms,
   * two write the sessions and one their events. The caller has read the rooms (`rooms`) under
   * a lock that serialises such bursts; the claim re-checks each room, and one that moved since
   * fails it, so the whole transaction runs again.
   */
  async openAll(
    sql: Sql,
    requests: StartRequest[],
    rooms: ReadonlyMap<string, LiveRoom>,
  ): Promise<Relay[]> {
    if (requests.length === 0) return [];
    const now = this.clock.now();
    const claims = new Map<string, string>();
    const openings = requests.map((request) => {
      const refused = refusalOf(request, rooms, this.config.roomHeartbeatTimeoutS);
      if (refused) throw refused;
      const opening = this.opening(request, rooms, now);
      for (const r of opening.s.rooms) {
        if (claims.has(r.roomId)) throw new Error(`room ${r.roomId} opened twice at once`);
        claims.set(r.roomId, opening.s.relayId);
      }
      return opening;
    });
    if (!(await this.rooms.claimEach(sql, claims, now))) throw new ConcurrentUpdate();
    return this.recordOpened(sql, openings, now);
  }

  /** The session a valid start opens and the events of its opening, before anything is written. */
  private opening(
    request: StartRequest,
    rooms: ReadonlyMap<string, LiveRoom>,
    now: number,
  ): { s: Relay; entries: Entry[] } {
    const { initRoomId, receivers } = request;
    const initUserId = (rooms.get(initRoomId) as LiveRoom).anchorId;
    const members = [{ roomId: initRoomId, userId: initUserId }, ...receivers];
    const opened = openRelay(request.mode, request.durationS, now, this.timers, members);
    const s: Relay = {
      ...opened.next,
      id: 0,
      relayId: `relay_${randomUUID().replace(/-/g, '')}`,
      appId: request.appId,
      initUserId,
      initRoomId,
      recvUserId: receivers[0].userId,
      recvRoomId: receivers[0].roomId,
      extends: request.extends,
      scores: initialScores(members.map((m) => m.roomId)),
      battle: null,
      origin: request.origin,
      version: 0,
      updatedAt: now,
    };
    return {
      s,
      entries: opened.effects.events.map((e) => ({ state: { ...s, ...e.relay }, body: e })),
    };
  }

  /** Writes opened sessions and their events, then tells the open hooks of each. */
  private async recordOpened(
    sql: Sql,
    openings: { s: Relay; entries: Entry[] }[],
    now: number,
  ): Promise<Relay[]> {
    const created = openings.map(({ s, entries }) => ({ ...s, version: entries.length }));
    await this.relays.insertAll(sql, created);
    await this.events.appendAll(
      sql,
      openings.flatMap(({ s, entries }) => this.eventsOf(s, entries, now)),
    );
    for (const s of created) for (const hook of this.openHooks) await hook(sql, s);
    return created;
  }

  /** Told of every relay opened, in its transaction (matchmaking cancels the rooms' tickets). */
  onOpened(hook: (sql: Sql, s: Relay) => Promise<void>): void {
    this.openHooks.push(hook);
  }

  async get(user: ClientUser, relayId: string): Promise<RelaySessionView> {
    return toRelayView(await this.load(relayId, user.appId));
  }

  async token(user: ClientUser, relayId: string): Promise<RelayTokenView> {
    const s = await this.load(relayId, user.appId);
    const index = anchorOf(s, user);
    if (!isConnected(s.status))
      throw badStatus(`relay ${relayId} has no token in ${statusPhrase(s)}`);
    if (!isRoomConnected(s.rooms[index])) {
      throw badStatus(`your room is ${s.rooms[index].state} in relay ${relayId}: no token`);
    }
    return this.tokenView(s, index);
  }

  async accept(user: ClientUser, relayId: string): Promise<RelayTokenView> {
    const s = await this.act(user, relayId, 'accept');
    return this.tokenView(s, anchorOf(s, user));
  }

  async reject(user: ClientUser, relayId: string): Promise<RelayStatusView> {
    return statusView(await this.act(user, relayId, 'reject'));
  }

  async started(user: ClientUser, relayId: string): Promise<RelayStatusView> {
    return statusView(await this.act(user, relayId, 'started'));
  }

  async stop(user: ClientUser, relayId: string): Promise<RelayStatusView> {
    return statusView(await this.act(user, relayId, 'stop'));
  }

  async updateExtends(
    user: ClientUser,
    relayId: string,
    dto: UpdateExtendsDto,
  ): Promise<RelayExtendsView> {
    const patch = parseExtends(dto.extends, 'extends', true);
    const merged = await this.db.transaction(async (sql) => {
      const s = await this.locked(sql, relayId, user.appId);
      const own = s.rooms[anchorOf(s, user)];
      if (isTerminal(s.status)) throw badStatus(`relay ${relayId} has ended (status ${s.status})`);
      if (!isIn(own)) throw badStatus(`your room is no longer in relay ${relayId} (${own.state})`);
      const { merged, changed } = mergeExtends(s.extends, patch);
      if (Object.keys(changed).length === 0) return merged;
      serializeExtends(merged);
      const next: Relay = { ...s, extends: merged };
      const body: RelayEventBody = { type: 'relay.extends_updated', data: { changed } };
      await this.commit(sql, s, next, [{ state: next, body }], [], this.clock.now());
      return merged;
    }, user);
    return { relay_id: relayId, extends: merged };
  }

  list(user: ClientUser, query: ListRelaysQuery): Promise<RelayListView> {
    return readPage(
      query,
      (beforeId, limit) =>
        this.db.read((sql) =>
          this.relays.list(sql, {
            appId: user.appId,
            userId: user.userId,
            role: query.role ?? 'any',
            statuses: statusesOf(query),
            beforeId,
            limit,
          }),
        ),
      toRelayView,
    );
  }

  /**
   * Server API: the relays of an app that include a room, newest first, the one that holds the
   * room now (if any) first of all: a room is in one unfinished relay at most, but it may have
   * left one that goes on and joined a newer one.
   */
  async listOfRoom(query: ServerListRelaysQuery): Promise<RelayListView> {
    const statuses = statusesOf(query);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    return this.db.read(async (sql) => {
      const room = await this.rooms.find(sql, query.app_id, query.room_id);
      const held = room?.pkId ? await this.relays.find(sql, room.pkId, query.app_id) : null;
      const holder =
        held !== null && (statuses.length === 0 || statuses.includes(held.status)) ? held : null;
      // One more than the page, and one more again for the holder, skipped among the others.
      const others = (
        await this.relays.listByRoom(sql, query.room_id, {
          appId: query.app_id,
          statuses,
          beforeId: query.cursor === undefined ? null : Number(query.cursor),
          limit: limit + 2,
        })
      ).filter((r) => r.id !== holder?.id);
      const all = query.cursor === undefined && holder !== null ? [holder, ...others] : others;
      const page = all.slice(0, limit);
      const last = page.filter((r) => r !== holder).pop();
      return {
        list: page.map(toRelayView),
        // The cursor is the last of the others; a first page of the holder alone starts them.
        next_cursor: all.length > limit ? String(last?.id ?? Number.MAX_SAFE_INTEGER) : null,
      };
    });
  }

  /** Server API: any app's session. */
  async getAny(relayId: string): Promise<RelaySessionView> {
    return toRelayView(await this.load(relayId, null));
  }

  /**
   * Server API: changes one room's score (docs/concepts.md, "Scores"), and while a battle is
   * fighting, the battle's and the gifter's contributions with it. The changes that arrive for
   * one relay on this node while one of its transactions is in flight go together into the next
   * (Coalescer): one lock of the relay row, one write of each row, however many gifts. Each
   * change is still decided alone, in the order they arrived, claims its own `score_id`, records
   * its own event and gets its own answer, once the transaction that holds it has committed.
   */
  score(relayId: string, dto: ScoreDto, who: RequestIdentity): Promise<ScoreView> {
    const change = parseChange(dto.delta, dto.score);
    if (change.kind === 'refused') throw new DomainError(change.code, change.message);
    if (dto.user_id !== undefined && (change.kind !== 'delta' || change.value < 0)) {
      throw badRequest('user_id is given only with a positive delta: the gift of that user');
    }
    return this.scores.submit(relayId, { dto, change, who, at: this.clock.now() });
  }

  /**
   * One transaction of score changes on a relay, each decided as if alone, in order: a room
   * outside the relay (404) is refused even for a used score_id (it cannot be a retry); a used
   * score_id is a duplicate (also once the relay has ended since); then the relay's rules and
   * the battle's share. A refused change is answered alone and claims nothing.
   */
  private scoreBatch(relayId: string, items: PendingScore[]): Promise<Outcome<ScoreView>[]> {
    return this.db.transaction(async (sql) => {
      // One round trip: the relay's lock, then (under it) its used score ids and its battle.
      const [s, used, scoring] = await Promise.all([
        this.locked(sql, relayId, null),
        this.relays.usedScoreIds(
          sql,
          relayId,
          items.flatMap((item) => item.dto.score_id ?? []),
        ),
        this.battles.scoring(sql, relayId),
      ]);
      const now = this.clock.now();
      const scorer = await scoring(s);
      const out = s.rooms.filter((r) => !isIn(r)).map((r) => r.roomId);
      const entries: Entry[] = [];
      const claimed: string[] = [];
      let state: Relay = s;
      const outcomes = [];
      for (const item of items) {
        const { dto, change } = item;
        const at = Math.min(item.at, now);
        for (const e of await scorer.advanceTo(at)) {
          state = { ...state, battle: e.battle };
          entries.push({ state, battle: e });
        }
        const refuse = (code: ErrorCode, message: string) =>
          outcomes.push({ ok: false as const, error: new DomainError(code, message) });
        const asked = applyScore(s.status, state.scores, dto.room_id, change, out, s.stopReason);
        if (asked.kind === 'refused' && asked.code === 404) {
          refuse(asked.code, asked.message);
          continue;
        }
        if (dto.score_id !== undefined && used.has(dto.score_id)) {
          const battle = scorer.inPlay(at);
          outcomes.push(ok({ relay_id: relayId, scores: state.scores, duplicate: true, battle }));
          continue;
        }
        if (asked.kind === 'refused') {
          refuse(asked.code, asked.message);
          continue;
        }
        const request = { roomId: dto.room_id, change, userId: dto.user_id, at };
        const share = scorer.share(request);
        if ('refused' in share) {
          refuse(share.refused, share.message);
          continue;
        }
        const decision =
          share.change === change
            ? asked
            : applyScore(s.status, state.scores, dto.room_id, share.change, out, s.stopReason);
        if (decision.kind === 'refused') {
          refuse(decision.code, decision.message);
          continue;
        }
        scorer.take(request, share);
        if (dto.score_id !== undefined) {
          used.add(dto.score_id);
          claimed.push(dto.score_id);
        }
        if (decision.kind === 'changed') {
          state = { ...state, scores: decision.scores, battle: scorer.battle ?? state.battle };
          entries.push({
            state,
            cause: item.who,
            body: {
              type: 'relay.score_changed',
              data: {
                room_id: dto.room_id,
                delta: decision.delta,
                score_id: dto.score_id ?? '',
                scores: decision.scores,
                battle: share.inPlay,
              },
            },
          });
        } else {
          state = { ...state, battle: scorer.battle ?? state.battle };
        }
        outcomes.push(
          ok({ relay_id: relayId, scores: state.scores, duplicate: false, battle: share.inPlay }),
        );
      }
      for (const e of await scorer.advanceTo(now)) {
        state = { ...state, battle: e.battle };
        entries.push({ state, battle: e });
      }
      this.relays.claimScoreIds(sql, relayId, claimed, now);
      scorer.finish(sql);
      if (entries.length > 0) await this.commit(sql, s, state, entries, [], now);
      return outcomes;
    }, items[0].who);
  }

  /**
   * Runs a change of the relay's battles in the relay's transaction, under its row lock: `work`
   * answers the battle's effects, and the relay records its events, each at the next seq, and
   * shows the newest battle. The battle module's every change goes through here.
   */
  changeBattle<T>(
    relayId: string,
    appId: string | null,
    who: RequestIdentity | undefined,
    work: BattleWork<T>,
  ): Promise<T> {
    return this.db.transaction(
      async (sql) => this.battleChange(sql, await this.locked(sql, relayId, appId), work),
      who,
    );
  }

  /**
   * For a sweep: changes the battle as `changeBattle` does, or, with `wait` false, answers
   * false at once when another transaction holds the relay (see sweepInTurns).
   */
  sweepBattle(relayId: string, wait: boolean, work: BattleWork<void>): Promise<boolean> {
    return this.db.transaction(async (sql) => {
      const s = await this.relays.find(sql, relayId, null, wait || 'skip');
      if (s === null) return !wait;
      await this.battleChange(sql, s, work);
      return true;
    });
  }

  private async battleChange<T>(sql: Sql, s: Relay, work: BattleWork<T>): Promise<T> {
    const now = this.clock.now();
    const { result, effects } = await work(sql, s, now);
    if (effects.events.length > 0) {
      const next = { ...s, battle: effects.battle ?? s.battle };
      const entries = effects.events.map((e): Entry => ({ state: next, battle: e }));
      await this.commit(sql, s, next, entries, [], now);
    }
    return result;
  }

  /** Server API: ends the session with reason `admin`. */
  async adminStop(relayId: string, who: RequestIdentity): Promise<RelayStatusView> {
    return statusView(
      await this.db.transaction(
        async (sql) =>
          this.apply(sql, await this.locked(sql, relayId, null), 'admin_stop', 'system'),
        who,
      ),
    );
  }

  /**
   * Ends the sessions whose timer is due (invite, join, duration), at most `limit` of them.
   * Any number of nodes may run this at once: each session is re-read under its row lock and
   * the machine decides again, so a timer fires exactly once whoever gets there first.
   */
  async expireDue(limit: number): Promise<number> {
    const due = await this.db.read((sql) => this.relays.findDue(sql, this.clock.now(), limit));
    await sweepInTurns(due, Sweeper.CONCURRENCY, (relayId, wait) =>
      this.db
        .transaction(async (sql) => {
          const s = await this.relays.find(sql, relayId, null, wait || 'skip');
          if (s === null) return !wait;
          if (s.deadlineAt === null || s.deadlineAt > this.clock.now()) return true;
          const next = await this.apply(sql, s, 'expire', 'system');
          if (next === s) {
            await this.relays.setDeadline(sql, s, nextDeadline(s, this.timers)?.at ?? null);
          }
          return true;
        })
        .catch((error: unknown) => {
          this.logger.error(`expiring relay ${relayId} failed: ${String(error)}`);
          return true;
        }),
    );
    return due.length;
  }

  private act(user: ClientUser, relayId: string, action: RelayAction): Promise<Relay> {
    return this.db.transaction(async (sql) => {
      const s = await this.locked(sql, relayId, user.appId);
      return this.apply(sql, s, action, anchorOf(s, user));
    }, user);
  }

  /** Persists one machine decision: the conditional update and the move's effects, together. */
  private async apply(
    sql: Sql,
    s: Relay,
    action: RelayAction,
    actor: Actor,
    room?: number,
  ): Promise<Relay> {
    const now = this.clock.now();
    const t = transition(s, action, actor, now, this.timers, room);
    if (t.kind === 'refused') throw new DomainError(t.code, t.message);
    if (t.kind === 'unchanged') return s;
    const moved: Relay = { ...s, ...t.next };
    const entries: Entry[] = t.effects.events.map((e) => ({
      state: { ...s, ...e.relay },
      body: e,
    }));
    // The relay's battle follows when the relay ends or rooms leave it, after the relay's own
    // events: the relay's move is what causes the battle's.
    if (s.battle !== null && (isTerminal(moved.status) || t.effects.released.length > 0)) {
      const effects = await this.battles.moved(sql, s, moved, now);
      moved.battle = effects.battle ?? s.battle;
      entries.push(...effects.events.map((e) => ({ state: moved, battle: e })));
    }
    return this.commit(sql, s, moved, entries, t.effects.released, now);
  }

  /**
   * Writes `next` over `s` (read under its lock), releases the rooms the change frees, and
   * records the change's events in order, each at the next version with the relay as it was
   * right after it.
   */
  private async commit(
    sql: Sql,
    s: Relay,
    next: Relay,
    entries: Entry[],
    released: string[],
    now: number,
  ): Promise<Relay> {
    const written: Relay = { ...next, version: s.version + entries.length, updatedAt: now };
    this.relays.update(sql, written, s.version);
    if (released.length > 0) this.rooms.release(sql, released, s.relayId, now);
    await this.append(sql, s, entries, now);
    return written;
  }

  private async append(sql: Sql, s: Relay, entries: Entry[], now: number): Promise<void> {
    await this.events.appendAll(sql, this.eventsOf(s, entries, now));
  }

  /** The events of `entries`, made on `s` one after another (each at the next version). */
  private eventsOf(s: Relay, entries: Entry[], now: number) {
    let version = s.version;
    return entries.map((e) => {
      const at: Relay = { ...e.state, version: ++version, updatedAt: now };
      const event = 'body' in e ? relayEvent(at, e.body) : battleEvent(at, e.battle);
      return e.cause === undefined ? event : { ...event, cause: e.cause };
    });
  }

  private async endForRoom(sql: Sql, room: LiveRoom, reason: RoomEndReason): Promise<void> {
    if (room.pkId === '') return;
    const s = await this.relays.find(sql, room.pkId, room.appId, true);
    if (!s) return;
    const index = s.rooms.findIndex((r) => r.roomId === room.liveId);
    if (index >= 0) await this.apply(sql, s, reason, 'system', index);
  }

  private async load(relayId: string, appId: string | null): Promise<Relay> {
    const s = await this.db.read((sql) => this.relays.find(sql, relayId, appId));
    if (!s) throw notFound(`relay ${relayId} not found`);
    return s;
  }

  private async locked(sql: Sql, relayId: string, appId: string | null): Promise<Relay> {
    const s = await this.relays.find(sql, relayId, appId, true);
    if (!s) throw notFound(`relay ${relayId} not found`);
    return s;
  }

  /**
   * The tokens that let the anchor of `rooms[index]` publish into every other room that is
   * agreed or joined, in the relay's room order; `relay_token` is the first of them.
   */
  tokenView(s: Relay, index: number): RelayTokenView {
    const own = s.rooms[index];
    const expireAt = Math.floor(this.clock.now() / 1000) + this.config.relay.tokenTtlS;
    const relay_tokens =
      isConnected(s.status) && isRoomConnected(own)
        ? s.rooms
            .filter((r, i) => i !== index && isRoomConnected(r))
            .map((r) => ({
              room_id: r.roomId,
              relay_token: signRoomToken(this.config.qiniu, r.roomId, own.userId, expireAt),
            }))
        : [];
    return {
      relay_id: s.relayId,
      relay_status: s.status,
      relay_token: relay_tokens[0]?.relay_token ?? '',
      relay_tokens,
    };
  }
}

/** The caller's room in the relay (its index), or 403 for a user who is none of its anchors. */
function anchorOf(s: Relay, user: ClientUser): number {
  const index = s.rooms.findIndex((r) => r.userId === user.userId);
  if (index < 0) throw forbidden(`you are not an anchor of relay ${s.relayId}`);
  return index;
}

const statusView = (s: Relay): RelayStatusView => ({
  relay_id: s.relayId,
  relay_status: s.status,
});
