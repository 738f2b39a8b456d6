import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClientUser } from '../auth/client-user';
import { Clock } from '../common/clock';
import { badRequest, DomainError, forbidden, notFound } from '../common/domain.error';
import { sweepInTurns } from '../common/in-parallel';
import { readPage } from '../common/page';
import { RequestIdentity } from '../common/request-identity';
import { Sweeper } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { Database, Sql, SqlReader } from '../database/database.service';
import {
  BattleEffects,
  BattleEvent,
  BattleScorer,
  BattleScores,
  BattleShare,
  RelayBattles,
  ScoreRequest,
} from '../relay/relay-battles';
import { isIn, isTerminal, RelayStatus } from '../relay/relay.machine';
import { RelayService } from '../relay/relay.service';
import { Relay } from '../relay/relay.store';
import {
  BattleListView,
  BattleView,
  ContributionListView,
  ContributionsQuery,
  ListBattlesQuery,
  ServerStartBattleDto,
  StartBattleDto,
  toBattleView,
} from './battle.dto';
import {
  advance,
  Battle,
  BattleAction,
  BattleEventSpec,
  BattleSettings,
  Contributor,
  dueOf,
  isOpen,
  leaderOf,
  maySettle,
  openBattle,
  scoreBattle,
  stepBattle,
} from './battle.machine';
import { BattleStore, StoredBattle } from './battle.store';
import { Contribution, ContributionStore, RankPosition } from './contribution.store';

/** A battle's change in the relay's transaction: what to answer, and what the relay records. */
type Worked<T> = { result: T; effects: BattleEffects };

/**
 * Glue for battles and contributions (docs/concepts.md, "Battles", "Contributions"): every
 * change runs in its relay's transaction through RelayService.changeBattle, loads the battle,
 * asks the machine, and writes the battle and its contributions; the relay records the events.
 * It is also the relay's RelayBattles: the relay tells it of scores and of its own moves.
 */
@Injectable()
export class BattleService implements RelayBattles {
  private readonly logger = new Logger(BattleService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly relays: RelayService,
    private readonly battles: BattleStore,
    private readonly contributions: ContributionStore,
    private readonly clock: Clock,
  ) {
    relays.useBattles(this);
  }

  start(user: ClientUser, relayId: string, dto: StartBattleDto): Promise<BattleView> {
    return this.relays.changeBattle(relayId, user.appId, user, (sql, s, now) => {
      const index = anchorOf(s, user);
      if (s.rooms[index].state !== 'joined') {
        throw new DomainError(
          601,
          `your room is ${s.rooms[index].state}: a battle needs it joined`,
        );
      }
      return this.open(sql, s, index, dto.mode ?? 'invite', dto, now);
    });
  }

  /** Server API: a battle of every joined room, in relay order, started at once. */
  startAny(relayId: string, dto: ServerStartBattleDto, who: RequestIdentity): Promise<BattleView> {
    return this.relays.changeBattle(relayId, null, who, (sql, s, now) =>
      this.open(sql, s, null, 'auto', dto, now),
    );
  }

  accept(user: ClientUser, relayId: string, battleNo: number): Promise<BattleView> {
    return this.actAsAnchor(user, relayId, battleNo, (room) => ({ kind: 'accept', room }));
  }

  reject(user: ClientUser, relayId: string, battleNo: number): Promise<BattleView> {
    return this.actAsAnchor(user, relayId, battleNo, (room) => ({ kind: 'reject', room }));
  }

  stop(user: ClientUser, relayId: string, battleNo: number): Promise<BattleView> {
    return this.actAsAnchor(user, relayId, battleNo, (room) => ({ kind: 'stop', by: room }));
  }

  /** Server API: ends a battle with reason `admin`. */
  stopAny(relayId: string, battleNo: number, who: RequestIdentity): Promise<BattleView> {
    return this.relays.changeBattle(relayId, null, who, (sql, s, now) =>
      this.act(sql, s, battleNo, { kind: 'stop', by: 'admin' }, now),
    );
  }

  async list(user: ClientUser, relayId: string, query: ListBattlesQuery): Promise<BattleListView> {
    await this.relays.get(user, relayId);
    return readPage(
      query,
      (beforeNo, limit) => this.db.read((sql) => this.battles.list(sql, relayId, beforeNo, limit)),
      (b) => toBattleView(relayId, b),
      (b) => b.battleNo,
    );
  }

  async get(user: ClientUser, relayId: string, battleNo: number): Promise<BattleView> {
    await this.relays.get(user, relayId);
    return toBattleView(relayId, await this.db.read((sql) => this.found(sql, relayId, battleNo)));
  }

  /** A room's leaderboard in the relay, or in one of its battles, a page at a time. */
  async contributionsOf(
    user: ClientUser,
    relayId: string,
    query: ContributionsQuery,
  ): Promise<ContributionListView> {
    const relay = await this.relays.get(user, relayId);
    if (!relay.rooms.some((r) => r.room_id === query.room_id)) {
      throw notFound(`room ${query.room_id} is not a room of relay ${relayId}`);
    }
    const after = query.cursor === undefined ? null : positionOf(query.cursor);
    const limit = query.limit ?? 20;
    const rows = await this.db.read(async (sql) => {
      if (query.battle_no !== undefined) await this.found(sql, relayId, query.battle_no);
      const key = { relayId, roomId: query.room_id, battleNo: query.battle_no ?? 0 };
      return this.contributions.page(sql, key, after, limit + 1);
    });
    const first = (after?.rank ?? 0) + 1;
    const list = rows
      .slice(0, limit)
      .map((row, i) => ({ user_id: row.userId, amount: row.amount, rank: first + i }));
    const last = rows.length > limit ? rows[limit - 1] : null;
    return {
      list,
      next_cursor: last === null ? null : cursorOf({ ...last, rank: first + limit - 1 }),
    };
  }

  /**
   * Moves the battles whose phase move is due, at most `limit` of them. Each is re-read under
   * its relay's lock and the machine decides again, so a move is made once, whoever gets there.
   */
  async advanceDue(limit: number): Promise<number> {
    const due = await this.db.read((sql) => this.battles.findDue(sql, this.clock.now(), limit));
    await sweepInTurns([...new Set(due)], Sweeper.CONCURRENCY, (relayId, wait) =>
      this.relays
        .sweepBattle(relayId, wait, async (sql, s, now) => {
          const stored = await this.newestOpen(sql, s);
          if (stored === null || stored.dueAt === null || stored.dueAt > now) {
            return { result: undefined, effects: { events: [] } };
          }
          const topOf = await this.topsFor(sql, stored, now);
          const step = advance(stored, now, topOf);
          if (step.kind === 'unchanged') return { result: undefined, effects: { events: [] } };
          return { result: undefined, effects: this.save(sql, stored, step, now, true) };
        })
        .catch((error: unknown) => {
          this.logger.error(`moving the battle of relay ${relayId} failed: ${String(error)}`);
          return true;
        }),
    );
    return due.length;
  }

  // The relay's side (RelayBattles).

  /**
   * Reads the relay's newest battle along with the relay's own row (one packet), so that the
   * scorer is ready once the relay is; the relay shows its newest battle, so this is the battle
   * it names, read again by its number in the one case it would not be.
   */
  async scoring(sql: Sql, relayId: string): Promise<(s: Relay) => Promise<BattleScorer>> {
    const newest = await this.battles.newest(sql, relayId);
    return async (s) => {
      const named = s.battle === null ? null : s.battle.battle_no;
      const stored = newest?.battleNo === named ? openOf(newest) : await this.newestOpen(sql, s);
      return this.scorer(sql, s, stored);
    };
  }

  private scorer(sql: Sql, s: Relay, stored: StoredBattle | null): BattleScorer {
    return new Scorer(stored, s.relayId, {
      topsFor: (b, at) => this.topsFor(sql, b, at),
      addGifts: (gifts) => this.contributions.add(sql, gifts),
      save: (b) => {
        if (stored === null) return;
        const next: StoredBattle = {
          ...stored,
          ...b,
          dueAt: dueOf(b),
          version: stored.version + 1,
          updatedAt: this.clock.now(),
        };
        this.battles.update(sql, next, stored.version);
      },
      eventsOf: (specs) => this.eventsOf(s.relayId, specs),
    });
  }

  async moved(sql: Sql, before: Relay, after: Relay, now: number): Promise<BattleEffects> {
    const stored = await this.newestOpen(sql, before);
    if (stored === null) return { events: [] };
    const action: BattleAction = isTerminal(after.status)
      ? { kind: 'relay_ended' }
      : { kind: 'rooms_left', stillIn: after.rooms.filter(isIn).map((r) => r.roomId) };
    const topOf = await this.topsFor(sql, stored, now, action.kind);
    const step = stepBattle(stored, action, now, topOf);
    if (step.kind !== 'moved') return { events: [] };
    return this.save(sql, stored, step, now, true);
  }

  // Glue.

  private async open(
    sql: Sql,
    s: Relay,
    starter: number | null,
    mode: 'invite' | 'auto',
    dto: ServerStartBattleDto,
    now: number,
  ): Promise<Worked<BattleView>> {
    if (s.status !== RelayStatus.BothJoined) {
      throw new DomainError(601, `relay ${s.relayId} is at status ${s.status}: a battle needs 4`);
    }
    // The previous battle may be over by its due time though no timer has closed it yet.
    const previous = await this.newestOpen(sql, s);
    let closing: BattleEffects = { events: [] };
    if (previous !== null) {
      const due = advance(previous, now, await this.topsFor(sql, previous, now));
      if (due.kind === 'moved') closing = this.save(sql, previous, due, now, false);
      if (due.kind === 'unchanged' || isOpen(due.next)) {
        throw new DomainError(601, `battle ${previous.battleNo} of this relay is still open`);
      }
    }
    const joined = s.rooms
      .map((room, index) => ({ room, index }))
      .filter(({ room }) => room.state === 'joined');
    const members = [
      ...joined.filter(({ index }) => index === starter),
      ...joined.filter(({ index }) => index !== starter),
    ].map(({ room }) => ({ roomId: room.roomId, userId: room.userId }));
    if (members.length < 2) {
      throw new DomainError(
        601,
        `a battle needs two joined rooms; relay ${s.relayId} has ${members.length}`,
      );
    }
    const battleNo = (s.battle?.battle_no ?? 0) + 1;
    const settings: BattleSettings = {
      durationS: dto.duration_s ?? this.config.battle.durationS,
      countdownS: dto.countdown_s ?? this.config.battle.countdownS,
      punishmentS: dto.punishment_s ?? this.config.battle.punishmentS,
      inviteTimeoutS: this.config.battle.inviteTimeoutS,
    };
    const opened = openBattle(battleNo, mode, members, settings, now);
    const stored: StoredBattle = {
      ...opened.next,
      relayId: s.relayId,
      appId: s.appId,
      dueAt: opened.due,
      version: 1,
      updatedAt: now,
    };
    this.battles.insert(sql, stored);
    const view = toBattleView(s.relayId, opened.next);
    return {
      result: view,
      effects: {
        events: [...closing.events, ...this.eventsOf(s.relayId, opened.events)],
        battle: view,
      },
    };
  }

  private actAsAnchor(
    user: ClientUser,
    relayId: string,
    battleNo: number,
    action: (room: number) => BattleAction,
  ): Promise<BattleView> {
    return this.relays.changeBattle(relayId, user.appId, user, async (sql, s, now) => {
      const own = s.rooms[anchorOf(s, user)];
      const stored = await this.found(sql, relayId, battleNo);
      const room = stored.rooms.findIndex((r) => r.roomId === own.roomId);
      if (room < 0) throw new DomainError(601, `your room is not in battle ${battleNo}`);
      return this.act(sql, s, battleNo, action(room), now, stored);
    });
  }

  private async act(
    sql: Sql,
    s: Relay,
    battleNo: number,
    action: BattleAction,
    now: number,
    found?: StoredBattle,
  ): Promise<Worked<BattleView>> {
    const stored = found ?? (await this.found(sql, s.relayId, battleNo));
    const topOf = await this.topsFor(sql, stored, now, action.kind);
    const step = stepBattle(stored, action, now, topOf);
    if (step.kind === 'refused') throw new DomainError(step.code, step.message);
    if (step.kind === 'unchanged') {
      return { result: toBattleView(s.relayId, stored), effects: { events: [] } };
    }
    const newest = battleNo === s.battle?.battle_no;
    const effects = this.save(sql, stored, step, now, newest);
    return { result: toBattleView(s.relayId, step.next), effects };
  }

  /**
   * Writes a battle's move and answers its events for the relay, each with the battle as it was
   * right after it; `newest`: the battle the session shows, which the relay then shows as moved.
   */
  private save(
    sql: Sql,
    stored: StoredBattle,
    step: { next: Battle; events: BattleEventSpec[]; due: number | null },
    now: number,
    newest: boolean,
  ): BattleEffects {
    const next: StoredBattle = {
      ...stored,
      ...step.next,
      dueAt: step.due,
      version: stored.version + 1,
      updatedAt: now,
    };
    this.battles.update(sql, next, stored.version);
    const events = this.eventsOf(stored.relayId, step.events);
    return newest ? { events, battle: toBattleView(stored.relayId, step.next) } : { events };
  }

  private eventsOf(relayId: string, specs: BattleEventSpec[]): BattleEvent[] {
    return specs.map((e) => ({
      data: { ...e.data },
      battle: toBattleView(relayId, e.battle),
    }));
  }

  /** The battle the session shows, when it is still open (as recorded). */
  private async newestOpen(sql: SqlReader, s: Relay): Promise<StoredBattle | null> {
    if (s.battle === null || s.battle.phase === 'ended') return null;
    return this.battles.find(sql, s.relayId, s.battle.battle_no);
  }

  private async found(sql: SqlReader, relayId: string, battleNo: number): Promise<StoredBattle> {
    const stored = await this.battles.find(sql, relayId, battleNo);
    if (stored === null) throw notFound(`battle ${battleNo} of relay ${relayId} not found`);
    return stored;
  }

  /**
   * The MVP lookup for a move that may settle the battle: the top contributor, in this battle,
   * of the room that leads (scores do not change while a battle settles).
   */
  private async topsFor(
    sql: SqlReader,
    b: StoredBattle,
    now: number,
    action?: BattleAction['kind'],
  ): Promise<(roomId: string) => Contributor | null> {
    const leader = maySettle(b, now, action) ? leaderOf(b) : '';
    if (leader === '') return () => null;
    const top = await this.contributions.top(sql, {
      relayId: b.relayId,
      roomId: leader,
      battleNo: b.battleNo,
    });
    const mvp = top === null ? null : { roomId: leader, userId: top.userId, amount: top.amount };
    return (roomId) => (roomId === leader ? mvp : null);
  }
}

/** The caller's room in the relay (its index), or 403 for a user who is none of its anchors. */
function anchorOf(s: Relay, user: ClientUser): number {
  const index = s.rooms.findIndex((r) => r.userId === user.userId);
  if (index < 0) throw forbidden(`you are not an anchor of relay ${s.relayId}`);
  return index;
}

const scoresOf = (b: Battle) => Object.fromEntries(b.rooms.map((r) => [r.roomId, r.score]));

/** A leaderboard cursor: the position of a page's last entry, opaque to clients. */
function cursorOf(p: RankPosition): string {
  return Buffer.from(JSON.stringify([p.amount, p.reachedAt, p.userId, p.rank])).toString(
    'base64url',
  );
}

function positionOf(cursor: string): RankPosition {
  try {
    const [amount, reachedAt, userId, rank] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    ) as unknown[];
    if (
      Number.isSafeInteger(amount) &&
      Number.isSafeInteger(reachedAt) &&
      typeof userId === 'string' &&
      Number.isSafeInteger(rank) &&
      (rank as number) > 0
    ) {
      return {
        amount: amount as number,
        reachedAt: reachedAt as number,
        userId,
        rank: rank as number,
      };
    }
  } catch {
    // Not ours: answered below like any other malformed cursor.
  }
  throw badRequest('cursor must be a next_cursor this API returned');
}

/** What a Scorer needs of the service: database work, in the scores' transaction. */
interface ScorerPorts {
  topsFor(b: StoredBattle, at: number): Promise<(roomId: string) => Contributor | null>;
  addGifts(gifts: Contribution[]): void;
  save(b: Battle): void;
  eventsOf(specs: BattleEventSpec[]): BattleEvent[];
}

/**
 * The battle's side of one transaction of score changes (relay-battles.ts, BattleScorer): the
 * open battle as loaded, moved and scored in memory, each change at its own time; the gifts
 * summed per contributor; one write of each at the end. A move that settles the battle first
 * writes the gifts taken so far, so that the MVP counts them.
 */
class Scorer implements BattleScorer {
  private current: Battle | null;
  private changed = false;
  private readonly gifts = new Map<string, Contribution>();
  private readonly pending = new WeakMap<BattleShare, Battle>();
  private view: BattleView | null;

  constructor(
    private readonly stored: StoredBattle | null,
    private readonly relayId: string,
    private readonly ports: ScorerPorts,
  ) {
    this.current = stored;
    this.view = null;
  }

  get battle(): BattleView | null {
    if (this.current === null || !this.changed) return null;
    return (this.view ??= toBattleView(this.relayId, this.current));
  }

  async advanceTo(at: number): Promise<BattleEvent[]> {
    const b = this.current;
    if (b === null || this.stored === null) return [];
    let topOf: (roomId: string) => Contributor | null = () => null;
    if (maySettle(b, at)) {
      this.flushGifts();
      topOf = await this.ports.topsFor({ ...this.stored, ...b }, at);
    }
    const step = advance(b, at, topOf);
    if (step.kind === 'unchanged') return [];
    this.moveTo(step.next);
    return this.ports.eventsOf(step.events);
  }

  share(request: ScoreRequest): BattleShare | { refused: 400; message: string } {
    const b = this.current;
    const played = b === null ? null : scoreBattle(b, request.roomId, request.change, request.at);
    if (played === null || played.kind === 'out_of_play') {
      return { change: request.change, inPlay: null };
    }
    if (played.kind === 'refused') return { refused: 400, message: played.message };
    const share: BattleShare = {
      change: { kind: 'delta', value: played.relayDelta },
      inPlay: { battle_no: played.next.battleNo, scores: scoresOf(played.next) },
    };
    this.pending.set(share, played.next);
    return share;
  }

  take(request: ScoreRequest, share: BattleShare): void {
    const next = this.pending.get(share);
    if (next !== undefined) this.moveTo(next);
    if (request.userId === undefined) return;
    this.gift(0, request);
    if (next !== undefined) this.gift(next.battleNo, request);
  }

  inPlay(at: number): BattleScores | null {
    const b = this.current;
    return b !== null && b.phase === 'fighting' && at < (b.fightEndAt as number)
      ? { battle_no: b.battleNo, scores: scoresOf(b) }
      : null;
  }

  finish(): void {
    this.flushGifts();
    if (this.changed && this.current !== null) this.ports.save(this.current);
  }

  private moveTo(b: Battle): void {
    this.current = b;
    this.changed = true;
    this.view = null;
  }

  private gift(battleNo: number, request: ScoreRequest): void {
    const key = `${request.roomId}\u0000${battleNo}\u0000${request.userId}`;
    const known = this.gifts.get(key);
    if (known !== undefined) {
      known.amount += request.change.value;
      known.reachedAt = request.at;
      return;
    }
    this.gifts.set(key, {
      relayId: this.relayId,
      roomId: request.roomId,
      battleNo,
      userId: request.userId as string,
      amount: request.change.value,
      reachedAt: request.at,
    });
  }

  private flushGifts(): void {
    if (this.gifts.size === 0) return;
    const gifts = [...this.gifts.values()];
    this.gifts.clear();
    this.ports.addGifts(gifts);
  }
}

/** The battle if it is still open (not ended): the only one scores and moves go to. */
function openOf(b: StoredBattle | null): StoredBattle | null {
  return b === null || b.phase === 'ended' ? null : b;
}
