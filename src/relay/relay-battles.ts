import { Sql } from '../database/database.service';
import { ScoreChange, Scores } from './relay.score';
import { NewestBattle, Relay } from './relay.store';

/**
 * The one interface through which the relay reaches its battles (docs/concepts.md, "Battles"):
 * the relay knows that it may hold a battle, shows the newest one, lets it take its share of
 * score changes and tells it when the relay moves; every rule of battles is the battle module's,
 * which provides this interface (battle.service.ts) and runs its own changes through
 * RelayService.changeBattle, in the relay's transaction.
 */
export interface RelayBattles {
  /**
   * The battle's side of the score changes of one transaction on the relay (see BattleScorer):
   * its reads are issued at once, beside the relay's own (one round trip), and the scorer is
   * made from them once the relay's row `s` is read.
   */
  scoring(sql: Sql, relayId: string): Promise<(s: Relay) => Promise<BattleScorer>>;
  /** `after` is `before` moved by its machine (ended, or rooms left): the open battle follows. */
  moved(sql: Sql, before: Relay, after: Relay, now: number): Promise<BattleEffects>;
}

/**
 * Takes the score changes of one transaction in the order they arrived. Before each change the
 * relay asks for the battle's moves due by the change's time (`advanceTo`: a change that arrives
 * after `fight_end_at` finds the fight closed, whoever else has closed it); then `share` says how
 * the battle takes the change (nothing is kept yet), and `take` keeps it once the relay has
 * applied it, with the gifter's contribution. `finish` writes what was kept.
 */
export interface BattleScorer {
  advanceTo(at: number): Promise<BattleEvent[]>;
  share(request: ScoreRequest): BattleShare | { refused: 400; message: string };
  take(request: ScoreRequest, share: BattleShare): void;
  /** The battle in play at `at`, for the answer to a duplicate. */
  inPlay(at: number): BattleScores | null;
  /** The newest battle once this transaction has moved or scored it, else null (as read). */
  readonly battle: NewestBattle | null;
  /** Queues the writes of what was kept (Sql.later), sent with the transaction's COMMIT. */
  finish(sql: Sql): void;
}

/** The battle a score change counted for: its number and its rooms' scores after it. */
export interface BattleScores {
  battle_no: number;
  scores: Scores;
}

export interface ScoreRequest {
  roomId: string;
  change: ScoreChange;
  /** The audience member whose gift it is (only with a positive delta). */
  userId?: string;
  /** When the change arrived: it counts for the battle if that is before `fight_end_at`. */
  at: number;
}

/** A relay.battle_changed event: its data but the session, with the battle right after it. */
export interface BattleEvent {
  data: Record<string, unknown>;
  battle: NewestBattle;
}

/** A battle module's change, run in the transaction that holds the relay's row (`s`). */
export type BattleWork<T> = (
  sql: Sql,
  s: Relay,
  now: number,
) => Promise<{ result: T; effects: BattleEffects }>;

/** What a change of the relay does to its battles. */
export interface BattleEffects {
  /** Recorded after the relay's own events, in order, each at the next seq. */
  events: BattleEvent[];
  /** The newest battle after the change; undefined when it did not change. */
  battle?: NewestBattle;
}

export interface BattleShare {
  /** What the relay's score takes: the request's change, or the battle's difference. */
  change: ScoreChange;
  /** The battle the change counted for, with its scores after it, or null. */
  inPlay: BattleScores | null;
}

/** The relay without battles: every score is the relay's alone. */
export const NO_BATTLES: RelayBattles = {
  scoring: () =>
    Promise.resolve(() =>
      Promise.resolve({
        advanceTo: () => Promise.resolve([]),
        share: (request) => ({ change: request.change, inPlay: null }),
        take: () => undefined,
        inPlay: () => null,
        battle: null,
        finish: () => undefined,
      }),
    ),
  moved: () => Promise.resolve({ events: [] }),
};
