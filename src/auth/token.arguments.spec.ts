import { tokenArgumentProblems } from './token.arguments';

const RULE = "1-64 characters of letters, digits, '_', '.', ':' or '-'";
const ok = { user: 'alice', app: 'default', days: '7' };

describe(tokenArgumentProblems.name, () => {
  it.each([
    ['the defaults', ok, []],
    ['a user with every allowed character', { ...ok, user: 'a.b:c-d_9' }, []],
    ['half a day', { ...ok, days: '0.5' }, []],
    [
      'a user with a space',
      { ...ok, user: 'alice smith' },
      [`--user must be ${RULE} (got "alice smith")`],
    ],
    ['an empty user', { ...ok, user: '' }, [`--user must be ${RULE} (got "")`]],
    [
      'a user of 65 characters',
      { ...ok, user: 'u'.repeat(65) },
      [`--user must be ${RULE} (got "${'u'.repeat(65)}")`],
    ],
    ['an app with a slash', { ...ok, app: 'my/app' }, [`--app must be ${RULE} (got "my/app")`]],
    [
      'zero days',
      { ...ok, days: '0' },
      ['--days must be a number of days, more than 0 and at most 30'],
    ],
    [
      'a month and a day',
      { ...ok, days: '31' },
      ['--days must be a number of days, more than 0 and at most 30'],
    ],
    [
      'no number',
      { ...ok, days: ' ' },
      ['--days must be a number of days, more than 0 and at most 30'],
    ],
    [
      'all three',
      { user: 'a b', app: 'c d', days: 'x' },
      [
        `--user must be ${RULE} (got "a b")`,
        `--app must be ${RULE} (got "c d")`,
        '--days must be a number of days, more than 0 and at most 30',
      ],
    ],
  ])('%s', (_case, values, problems) => {
    expect(tokenArgumentProblems(values)).toEqual(problems);
  });
});
