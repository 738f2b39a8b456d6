import { ExecutionContext, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { AuthGuard } from '@nestjs/passport';
import { DomainError, ErrorCode } from '../common/domain.error';
import { ClientUser } from './client-user';
import { BadClaims, RefusedHeader } from './jwt.strategy';

/** Passport's verdict as the contract's errors: 401 for a missing or bad token, 499 expired. */
function userOrError<T>(error: unknown, user: T | false, info: unknown): T {
  if (user) return user;
  if (error instanceof BadClaims) throw new DomainError(ErrorCode.Unauthorized, error.message);
  if (error instanceof Error) throw error;
  if (info instanceof RefusedHeader) throw new DomainError(ErrorCode.Unauthorized, info.message);
  const name = (info as { name?: string } | undefined)?.name;
  if (name === 'TokenExpiredError') throw new DomainError(ErrorCode.TokenExpired, 'token expired');
  const message = (info as { message?: string } | undefined)?.message;
  if (message === 'No auth token') {
    throw new DomainError(ErrorCode.Unauthorized, 'missing Authorization token');
  }
  throw new DomainError(ErrorCode.Unauthorized, 'invalid token');
}

/**
 * What is wrong with the shape of an Authorization header, before any token is checked. Pasting
 * "Bearer eyJ..." into a field that already adds "Bearer " (Swagger UI's Authorize, a curl line
 * from the docs) is the usual mistake; "invalid token" would send the user to regenerate a token
 * that is fine.
 */
export function authorizationProblem(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (/^bearer\s+bearer(\s|$)/i.test(header)) {
    return 'Authorization says "Bearer" twice: send "Authorization: Bearer <token>" with the token alone after one "Bearer "';
  }
  return null;
}

function checkAuthorization(context: ExecutionContext): void {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const problem = authorizationProblem(request.headers.authorization);
  if (problem !== null) throw new DomainError(ErrorCode.Unauthorized, problem);
}

/** Client API guard: the token in the Authorization header. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  override canActivate(context: ExecutionContext) {
    checkAuthorization(context);
    return super.canActivate(context);
  }

  override handleRequest<T = ClientUser>(error: unknown, user: T | false, info: unknown): T {
    return userOrError(error, user, info);
  }
}

/** Event stream guard: browsers' EventSource cannot set headers, so `?access_token=` too. */
@Injectable()
export class JwtStreamGuard extends AuthGuard('jwt-stream') {
  override canActivate(context: ExecutionContext) {
    checkAuthorization(context);
    return super.canActivate(context);
  }

  override handleRequest<T = ClientUser>(error: unknown, user: T | false, info: unknown): T {
    return userOrError(error, user, info);
  }
}
