import { Sql, SqlReader } from '../database/database.service';
import { ScoreChange, Scores } from './relay.score';
import { NewestBattle, Relay } from './relay.store';

/**
 * The one interface through which the relay reaches its battles (docs/concepts.md, "Battles"):
 * the relay knows that it may hold a battle, shows the newest one, lets it take its share of a
 * score change and tells it when the relay moves; every rule of battles is the battle module's,
 * which provides this interface (battle.service.ts) and runs its own changes through
 * RelayService.changeBattle, in the relay's transaction.
 */
export interface RelayBattles {
  /**
   * A score change about to be applied to `s`, in its transaction: the phase moves due by
   * `request.now`, the battle's share of the change and the contributions it adds.
   */
  scored(sql: Sql, s: Relay, request: ScoreRequest): Promise<BattleShare>;
  /** `after` is `before` moved by its machine (ended, or rooms left): the open battle follows. */
  moved(sql: Sql, before: Relay, after: Relay, now: number): Promise<BattleEffects>;
  /** The battle in play on `s` at `now`, for the answer to a duplicate score. */
  inPlay(sql: SqlReader, s: Relay, now: number): Promise<BattleScores | null>;
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
  now: number;
}

/** A relay.battle_changed event: its data but the session, with the battle right after it. */
export interface BattleEvent {
  data: Record<string, unknown>;
  battle: NewestBattle;
}

/** What a change of the relay does to its battles. */
export interface BattleEffects {
  /** Recorded after the relay's own events, in order, each at the next seq. */
  events: BattleEvent[];
  /** The newest battle after the change; undefined when it did not change. */
  battle?: NewestBattle;
}

export interface BattleShare extends BattleEffects {
  /** What the relay's score takes: the request's change, or the battle's difference. */
  change: ScoreChange;
  /** The battle the change counted for, or null. */
  inPlay: BattleScores | null;
}

/** The relay without battles: every score is the relay's alone. */
export const NO_BATTLES: RelayBattles = {
  scored: (_sql, _s, request) =>
    Promise.resolve({ change: request.change, inPlay: null, events: [] }),
  moved: () => Promise.resolve({ events: [] }),
  inPlay: () => Promise.resolve(null),
};
