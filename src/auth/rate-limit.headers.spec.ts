import { rateLimitHeaders } from './rate-limit.headers';

describe(rateLimitHeaders.name, () => {
  it.each([
    [
      100,
      1,
      60,
      {
        'ratelimit-policy': '"per-user";q=100;w=60',
        ratelimit: '"per-user";r=99;t=60',
        'x-ratelimit-limit': '100',
        'x-ratelimit-remaining': '99',
      },
    ],
    [
      3,
      3,
      12,
      {
        'ratelimit-policy': '"per-user";q=3;w=60',
        ratelimit: '"per-user";r=0;t=12',
        'x-ratelimit-limit': '3',
        'x-ratelimit-remaining': '0',
      },
    ],
    [
      3,
      5,
      7,
      {
        'ratelimit-policy': '"per-user";q=3;w=60',
        ratelimit: '"per-user";r=0;t=7',
        'x-ratelimit-limit': '3',
        'x-ratelimit-remaining': '0',
        'retry-after': '7',
      },
    ],
  ])('limit %d, request %d, reset in %d s', (limit, count, resetS, headers) => {
    expect(rateLimitHeaders(limit, count, resetS, 60)).toEqual(headers);
  });
});
