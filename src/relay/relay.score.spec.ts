import { RelayStatus } from './relay.machine';
import {
  applyScore,
  initialScores,
  MAX_DELTA,
  MAX_SCORE,
  parseChange,
  SCORE_LIMIT,
  ScoreChange,
  Scores,
  winnerOf,
} from './relay.score';

const delta = (value: number): ScoreChange => ({ kind: 'delta', value });
const score = (value: number): ScoreChange => ({ kind: 'score', value });

describe('parseChange', () => {
  it.each<[number | undefined, number | undefined, ReturnType<typeof parseChange>]>([
    [5, undefined, delta(5)],
    [-5, undefined, delta(-5)],
    [MAX_DELTA, undefined, delta(MAX_DELTA)],
    [-MAX_DELTA, undefined, delta(-MAX_DELTA)],
    [undefined, 0, score(0)],
    [undefined, MAX_SCORE, score(MAX_SCORE)],
    [0, undefined, expect.objectContaining({ code: 400, message: expect.stringMatching(/not 0/) })],
    [MAX_DELTA + 1, undefined, expect.objectContaining({ code: 400 })],
    [-MAX_DELTA - 1, undefined, expect.objectContaining({ code: 400 })],
    [
      undefined,
      -1,
      expect.objectContaining({ code: 400, message: 'score must be 0..1000000000000' }),
    ],
    [undefined, MAX_SCORE + 1, expect.objectContaining({ code: 400 })],
    [1, 1, expect.objectContaining({ code: 400, message: 'give exactly one of delta and score' })],
    [undefined, undefined, expect.objectContaining({ code: 400 })],
  ])('delta %p, score %p', (d, s, expected) => {
    expect(parseChange(d, s)).toEqual(expected);
  });
});

describe('applyScore', () => {
  const start: Scores = { a: 10, b: 0 };
  const scoring = [
    RelayStatus.Agreed,
    RelayStatus.InitJoined,
    RelayStatus.RecvJoined,
    RelayStatus.BothJoined,
  ];

  it.each(scoring)('changes a room in status %i', (status) => {
    expect(applyScore(status, start, 'b', delta(7))).toEqual({
      kind: 'changed',
      scores: { a: 10, b: 7 },
      delta: 7,
    });
  });

  it.each([RelayStatus.Waiting, RelayStatus.Rejected, RelayStatus.Ended])(
    'refuses status %i with 601',
    (status) => {
      expect(applyScore(status, start, 'a', delta(1))).toMatchObject({ code: 601 });
    },
  );

  it.each([
    [RelayStatus.Waiting, '', 'cannot score a relay in status 0'],
    [RelayStatus.Ended, 'stopped', 'cannot score a relay in status 6 (relay ended: stopped)'],
    [
      RelayStatus.Ended,
      'room_offline',
      'cannot score a relay in status 6 (relay ended: room_offline)',
    ],
  ] as const)('status %i ended by "%s" is refused with "%s"', (status, reason, message) => {
    expect(applyScore(status, start, 'a', delta(1), [], reason)).toEqual({
      kind: 'refused',
      code: 601,
      message,
    });
  });

  it.each<[string, RelayStatus, string, ScoreChange, ReturnType<typeof applyScore>]>([
    [
      'a negative delta',
      4,
      'a',
      delta(-25),
      { kind: 'changed', scores: { a: -15, b: 0 }, delta: -25 },
    ],
    [
      'a score, as new - old',
      1,
      'a',
      score(3),
      { kind: 'changed', scores: { a: 3, b: 0 }, delta: -7 },
    ],
    ['the score it already has', 1, 'a', score(10), { kind: 'unchanged' }],
    [
      'a room of another relay, in any status',
      6,
      'c',
      delta(1),
      expect.objectContaining({ code: 404 }),
    ],
    [
      'an inherited name, which is not a room',
      1,
      'toString',
      delta(1),
      expect.objectContaining({ code: 404 }),
    ],
  ])('%s', (_, status, room, change, expected) => {
    expect(applyScore(status, start, room, change)).toEqual(expected);
  });

  it('refuses a result beyond 2^53 - 1 either way, and takes one at the limit', () => {
    const high = { a: SCORE_LIMIT - 1, b: -SCORE_LIMIT + 1 };
    expect(applyScore(1, high, 'a', delta(1))).toMatchObject({ scores: { a: SCORE_LIMIT } });
    expect(applyScore(1, high, 'a', delta(2))).toMatchObject({ code: 400 });
    expect(applyScore(1, high, 'b', delta(-1))).toMatchObject({ scores: { b: -SCORE_LIMIT } });
    expect(applyScore(1, high, 'b', delta(-2))).toMatchObject({ code: 400 });
  });
});

describe('winnerOf', () => {
  it.each<[string, RelayStatus, Scores, string]>([
    ['nobody while it runs', RelayStatus.BothJoined, { a: 5, b: 1 }, ''],
    ['nobody while it waits', RelayStatus.Waiting, { a: 0, b: 0 }, ''],
    ['the strictly highest once ended', RelayStatus.Ended, { a: 5, b: 1 }, 'a'],
    ['the highest, negative scores too', RelayStatus.Ended, { a: -5, b: -1 }, 'b'],
    ['nobody on a tie', RelayStatus.Ended, { a: 3, b: 3 }, ''],
    ['nobody when all are 0', RelayStatus.Rejected, { a: 0, b: 0 }, ''],
    ['nobody when two of three share the top', RelayStatus.Ended, { a: 3, b: 1, c: 3 }, ''],
    ['the top of three', RelayStatus.Ended, { a: 3, b: 4, c: 3 }, 'b'],
  ])('%s', (_, status, scores, expected) => {
    expect(winnerOf(status, scores)).toBe(expected);
  });

  it('starts every room at 0', () => {
    expect(initialScores(['a', 'b'])).toEqual({ a: 0, b: 0 });
  });
});
