/**
 * The PK score rules of docs/concepts.md, "Scores", as pure functions beside the state machine:
 * which changes are valid, which statuses and rooms accept them, and who has won. The service
 * locks the relay, asks `applyScore`, and persists what it says.
 */
import { isConnected, isTerminal, RelayStatus, StopReason, statusPhrase } from './relay.machine';

/** Every room of the relay and its score. */
export type Scores = Record<string, number>;

export const MAX_DELTA = 1_000_000_000;
export const MAX_SCORE = 1_000_000_000_000;
/** The largest score a JSON number carries exactly to every client (2^53 - 1). */
export const SCORE_LIMIT = Number.MAX_SAFE_INTEGER;

/** A validated request: add `delta` to the room's score, or replace it with `score`. */
export type ScoreChange = { kind: 'delta'; value: number } | { kind: 'score'; value: number };

export type ScoreRefusal = { kind: 'refused'; code: 400 | 404 | 601; message: string };

export type ScoreDecision =
  { kind: 'changed'; scores: Scores; delta: number } | { kind: 'unchanged' } | ScoreRefusal;

const refuse = (code: 400 | 404 | 601, message: string): ScoreRefusal => ({
  kind: 'refused',
  code,
  message,
});

export function initialScores(roomIds: string[]): Scores {
  return Object.fromEntries(roomIds.map((id) => [id, 0]));
}

/**
 * Exactly one of `delta` and `score`, each in its range. The body's types are checked by the
 * request validation; the ranges live here, with the other rules, so one table tests them all.
 */
export function parseChange(
  delta: number | undefined,
  score: number | undefined,
): ScoreChange | ScoreRefusal {
  if ((delta === undefined) === (score === undefined)) {
    return refuse(400, 'give exactly one of delta and score');
  }
  if (delta !== undefined) {
    if (delta === 0 || Math.abs(delta) > MAX_DELTA) {
      return refuse(400, `delta must be -${MAX_DELTA}..${MAX_DELTA} and not 0`);
    }
    return { kind: 'delta', value: delta };
  }
  if ((score as number) < 0 || (score as number) > MAX_SCORE) {
    return refuse(400, `score must be 0..${MAX_SCORE}`);
  }
  return { kind: 'score', value: score as number };
}

/**
 * The room's new score. A room outside the relay is 404 before anything else, since no status
 * makes it scorable; a room that has left or rejected (`out`) keeps its score but takes no
 * more. A result beyond SCORE_LIMIT is refused rather than clamped, so that the gift system
 * learns its request did nothing. Setting the score a room already has is `unchanged`: no
 * event for a change that did not happen.
 */
export function applyScore(
  status: RelayStatus,
  scores: Scores,
  roomId: string,
  change: ScoreChange,
  out: readonly string[] = [],
  stopReason: StopReason | '' = '',
): ScoreDecision {
  if (!Object.hasOwn(scores, roomId)) return refuse(404, `room ${roomId} is not in this relay`);
  if (!isConnected(status))
    return refuse(601, `cannot score a relay in ${statusPhrase({ status, stopReason })}`);
  if (out.includes(roomId)) return refuse(601, `room ${roomId} is no longer in this relay`);
  const old = scores[roomId];
  const next = change.kind === 'delta' ? old + change.value : change.value;
  if (Math.abs(next) > SCORE_LIMIT) {
    return refuse(400, `the score of room ${roomId} would leave -${SCORE_LIMIT}..${SCORE_LIMIT}`);
  }
  if (next === old) return { kind: 'unchanged' };
  return { kind: 'changed', scores: { ...scores, [roomId]: next }, delta: next - old };
}

/** "" until the relay ends; then the room with the strictly highest score, "" on a tie. */
export function winnerOf(status: RelayStatus, scores: Scores): string {
  if (!isTerminal(status)) return '';
  const ranked = Object.entries(scores).sort(([, a], [, b]) => b - a);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[1][1] === ranked[0][1])) return '';
  return ranked[0][0];
}
