import { DomainError } from './domain.error';
import { mergeExtends, parseExtends, serializeExtends } from './extends.map';

describe(mergeExtends.name, () => {
  it('sets with strings, deletes with null, and reports only real changes', () => {
    const { merged, changed } = mergeExtends(
      { a: '1', b: '2' },
      { a: '1', b: null, c: '3', d: null },
    );
    expect(merged).toEqual({ a: '1', c: '3' });
    expect(changed).toEqual({ b: null, c: '3' });
  });

  it('refuses a merge past 32 keys', () => {
    const current = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v']));
    expect(() => mergeExtends(current, { extra: 'v' })).toThrow(DomainError);
    expect(mergeExtends(current, { k0: null, extra: 'v' }).merged).toHaveProperty('extra', 'v');
  });
});

describe(parseExtends.name, () => {
  it.each<[unknown, string]>([
    [[], 'an array'],
    ['x', 'a string'],
    [{ '': 'v' }, 'an empty key'],
    [{ ['k'.repeat(65)]: 'v' }, 'a 65-character key'],
    [{ k: 'v'.repeat(1025) }, 'a 1025-character value'],
    [{ k: 1 }, 'a number value'],
    [{ k: null }, 'a null value where nulls are not allowed'],
    [{ k: 'a\u0000b' }, 'a NUL in a value'],
    [{ k: 'a\u001bb' }, 'an escape character in a value'],
    [{ k: 'a\u0085b' }, 'a C1 control character in a value'],
    [{ k: 'a\ud800' }, 'a lone high surrogate in a value'],
    [{ k: '\udc00a' }, 'a lone low surrogate in a value'],
    [{ 'k\u0007': 'v' }, 'a control character in a key'],
  ])('refuses %j (%s)', (value, _why) => {
    expect(() => parseExtends(value, 'extends', false)).toThrow(DomainError);
  });

  it('accepts tab, line feed, carriage return and paired surrogates', () => {
    const value = { 'key\tone': 'line\r\nnext\tcolumn 😀', emoji: '😀' };
    expect(parseExtends(value, 'extends', false)).toBe(value);
  });

  it('names the field of a control character but does not echo the key', () => {
    expect(() => parseExtends({ k: 'a\u0000' }, 'extends', true)).toThrow(
      'extends.k must not contain control characters or unpaired surrogates',
    );
    expect(() => parseExtends({ 'k\u0000': 'v' }, 'extends', true)).toThrow(
      'extends keys must not contain control characters or unpaired surrogates',
    );
  });

  it('accepts nulls in patches and limits of exactly 64 / 1024 characters', () => {
    const value = { ['k'.repeat(64)]: 'v'.repeat(1024), gone: null };
    expect(parseExtends(value, 'extends', true)).toBe(value);
  });

  it('refuses a map whose JSON would not fit the column', () => {
    const map = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`k${i}`, '字'.repeat(1024)]),
    );
    expect(() => serializeExtends(map)).toThrow(DomainError);
  });
});
