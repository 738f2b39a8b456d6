import { VerifiedTokens } from './verified-tokens';

describe('VerifiedTokens', () => {
  const exp = 1_000_000; // seconds
  const at = (seconds: number) => seconds * 1000;

  it.each([
    ['a second before exp', at(exp - 1), true],
    ['the last millisecond before exp', at(exp) - 1, true],
    ['at exp (expired, as the verifier says)', at(exp), false],
    ['after exp', at(exp + 60), false],
  ])('answers a cached token %s: %s', (_when, now, cached) => {
    const tokens = new VerifiedTokens<{ exp?: unknown }>();
    tokens.remember('t', { exp });
    expect(tokens.get('t', now) !== undefined).toBe(cached);
  });

  it('forgets a token once it is found expired', () => {
    const tokens = new VerifiedTokens<{ exp?: unknown }>();
    tokens.remember('t', { exp });
    tokens.get('t', at(exp));
    expect(tokens.size).toBe(0);
  });

  it('answers nothing for a token it was not given, even one that differs in a character', () => {
    const tokens = new VerifiedTokens<{ exp?: unknown }>();
    tokens.remember('header.payload.signature', { exp });
    expect(tokens.get('header.payload.signaturf', at(exp - 1))).toBeUndefined();
    expect(tokens.get('header.payload.signature', at(exp - 1))).toEqual({ exp });
  });

  it.each([
    ['no exp', {}],
    ['an exp that is not a number', { exp: '1000000' }],
  ])('keeps no token with %s', (_what, claims) => {
    const tokens = new VerifiedTokens<{ exp?: unknown }>();
    tokens.remember('t', claims);
    expect(tokens.size).toBe(0);
  });

  it('holds at most its capacity, letting the token remembered first go', () => {
    const tokens = new VerifiedTokens<{ exp?: unknown }>(2);
    tokens.remember('a', { exp });
    tokens.remember('b', { exp });
    tokens.remember('c', { exp });
    expect(tokens.size).toBe(2);
    expect(tokens.get('a', 0)).toBeUndefined();
    expect(tokens.get('b', 0)).toBeDefined();
    expect(tokens.get('c', 0)).toBeDefined();
  });
});
