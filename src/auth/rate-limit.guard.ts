import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { Clock } from '../common/clock';
import { DomainError, ErrorCode } from '../common/domain.error';
import { ClientUser } from './client-user';
import { rateLimitHeaders } from './rate-limit.headers';

const WINDOW_S = 60;
const WINDOW_MS = WINDOW_S * 1000;

/** Fixed one-minute windows of requests per key; one instance per node. */
@Injectable()
export class RateLimiter {
  private windowStart = 0;
  private counts = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** Counts one request; answers the count in this window and the seconds until it resets. */
  hit(key: string): { count: number; resetS: number } {
    const now = this.clock.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now - (now % WINDOW_MS);
      this.counts = new Map();
    }
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return { count, resetS: Math.ceil((this.windowStart + WINDOW_MS - now) / 1000) };
  }
}

/**
 * RATE_LIMIT_PER_MINUTE requests per user and app in each minute, counted on this node (a
 * gateway in front keeps any global limit). Runs after authentication, so the key is a
 * verified user, never one a caller could claim for someone else.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const limit = this.config.rateLimitPerMinute;
    if (limit === 0) return true;
    const http = context.switchToHttp();
    const { user } = http.getRequest<{ user: ClientUser }>();
    const { count, resetS } = this.limiter.hit(`${user.appId}\u0000${user.userId}`);
    void http.getResponse<FastifyReply>().headers(rateLimitHeaders(limit, count, resetS, WINDOW_S));
    if (count <= limit) return true;
    throw new DomainError(
      ErrorCode.TooManyRequests,
      `more than ${limit} requests a minute; retry in ${resetS} s`,
    );
  }
}
