/** The name of the one quota, as the IETF RateLimit headers refer to it. */
export const RATE_LIMIT_POLICY = 'per-user';

/**
 * The headers of a rate-limited answer: the IETF fields of draft-ietf-httpapi-ratelimit-headers
 * (`RateLimit-Policy`: the quota `q` per window `w` seconds; `RateLimit`: what `r` remains
 * and the seconds `t` until the window resets), the X-RateLimit-* pair clients already read,
 * and Retry-After once the quota is spent.
 */
export function rateLimitHeaders(
  limit: number,
  count: number,
  resetS: number,
  windowS: number,
): Record<string, string> {
  const remaining = Math.max(limit - count, 0);
  const headers: Record<string, string> = {
    'ratelimit-policy': `"${RATE_LIMIT_POLICY}";q=${limit};w=${windowS}`,
    ratelimit: `"${RATE_LIMIT_POLICY}";r=${remaining};t=${resetS}`,
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
  };
  if (count > limit) headers['retry-after'] = String(resetS);
  return headers;
}
