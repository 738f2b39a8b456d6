import { canonicalJson } from './idempotency.service';

describe('canonicalJson (the body an Idempotency-Key fingerprints)', () => {
  it.each<[string, unknown, string]>([
    ['sorts object keys', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    ['sorts nested keys', { x: { d: '1', c: null } }, '{"x":{"c":null,"d":"1"}}'],
    ['keeps array order', [3, { b: 1, a: 1 }, 1], '[3,{"a":1,"b":1},1]'],
    ['drops undefined fields', { a: undefined, b: 'x' }, '{"b":"x"}'],
    ['escapes keys and strings', { 'k"': 'v\n' }, '{"k\\"":"v\\n"}'],
    ['writes scalars as JSON', 'text', '"text"'],
    ['writes nothing as null', undefined, 'null'],
  ])('%s', (_, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('gives the same text for the same body in any key order', () => {
    const a = { init_room_id: 'r1', recv_room_id: 'r2', extends: { x: '1', y: '2' } };
    const b = { extends: { y: '2', x: '1' }, recv_room_id: 'r2', init_room_id: 'r1' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).not.toBe(canonicalJson({ ...a, mode: 'auto' }));
  });
});
