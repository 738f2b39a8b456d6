import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { JwtAuthGuard, JwtStreamGuard } from './jwt-auth.guard';
import { RateLimitGuard } from './rate-limit.guard';

/** A client API route: JWT in the Authorization header, then the per-user rate limit. */
export const ClientAuth = () =>
  applyDecorators(UseGuards(JwtAuthGuard, RateLimitGuard), ApiBearerAuth());

/** The event stream: the token may also come as ?access_token=. */
export const ClientStreamAuth = () =>
  applyDecorators(UseGuards(JwtStreamGuard, RateLimitGuard), ApiBearerAuth());
