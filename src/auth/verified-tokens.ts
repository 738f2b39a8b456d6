/**
 * Client tokens whose signature and claims were verified, by their exact text, so that the
 * requests an app sends with one token pay for its HMAC and JSON parsing once (about a tenth of
 * a relay read's CPU). The key is the whole token, signature included, so a cached answer is
 * never given for a token this service did not verify; expiry is still checked on every use,
 * by the rule the verifier applies (a token is expired from its `exp` second on). A token gains
 * nothing by waiting but expiry, so nothing else can change the verdict while it is cached. At
 * most `capacity` tokens are kept; beyond that the one remembered first goes.
 */
export class VerifiedTokens<C extends { exp?: unknown }> {
  private readonly claims = new Map<string, C>();

  constructor(private readonly capacity = 10_000) {}

  /** The claims of `token` if it was verified and is not expired at `nowMs`. */
  get(token: string, nowMs: number): C | undefined {
    const claims = this.claims.get(token);
    if (claims === undefined) return undefined;
    if (typeof claims.exp === 'number' && Math.floor(nowMs / 1000) < claims.exp) return claims;
    this.claims.delete(token);
    return undefined;
  }

  /** Keeps the verified claims of `token`; only tokens with a numeric `exp` are kept. */
  remember(token: string, claims: C): void {
    if (typeof claims.exp !== 'number' || this.claims.has(token)) return;
    if (this.claims.size >= this.capacity) {
      const oldest = this.claims.keys().next();
      if (oldest.done !== true) this.claims.delete(oldest.value);
    }
    this.claims.set(token, claims);
  }

  get size(): number {
    return this.claims.size;
  }
}
