import {
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { badRequest } from '../common/domain.error';
import { identityOf, RequestIdentity } from '../common/request-identity';
import { IdempotencyScope } from './idempotency.store';
import { IdempotencyService, KeepAnswer } from './idempotency.service';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for a request run under an Idempotency-Key: stores its answer in its transaction. */
    keepAnswer?: KeepAnswer;
  }
}

export const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Whose keys a route's requests use: the key of one app or user is not another's. */
export type ScopeOf = (request: FastifyRequest) => Omit<IdempotencyScope, 'key'> | null;

/** A client route: each user of each app has keys of their own. */
export const perUser: ScopeOf = (request) => {
  const user = (request as { user?: RequestIdentity }).user;
  return user?.appId === undefined || user.userId === undefined
    ? null
    : { appId: user.appId, userId: user.userId };
};

/**
 * A server route: the keys are the app's (the body names it); the empty user id is no user's,
 * so the customer's backend and the app's users never share a key.
 */
export const perApp: ScopeOf = (request) => {
  const appId = (request.body as { app_id?: unknown } | undefined)?.app_id;
  return typeof appId === 'string' ? { appId, userId: '' } : null;
};

/**
 * Runs the route at most once per key (docs/api.md, "Idempotent retries"). The body is validated
 * first, as the route would (`validate`), so a malformed request is refused without using the
 * key; then the key is claimed, and the route's service stores its answer through
 * `@IdempotentAnswer()` inside its own transaction, so an answer exists exactly when what it
 * reports was committed.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly idempotency: IdempotencyService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const key = keyOf(request);
    const route = idempotentRouteOf(context);
    if (key === undefined || route === undefined) return next.handle();
    const handle = () => lastValueFrom<unknown>(next.handle());
    return from(
      (async (): Promise<unknown> => {
        const body = await route.validate(request.body);
        const scope = route.scope(request);
        if (scope === null) return handle();
        return this.idempotency.run(
          http.getResponse<FastifyReply>(),
          identityOf(request),
          { ...scope, key },
          body,
          (keep) => {
            request.keepAnswer = keep;
            return handle();
          },
        );
      })(),
    );
  }
}

/** The route's store for its answer, when it runs under an Idempotency-Key. */
export const IdempotentAnswer = createParamDecorator(
  (_: unknown, context: ExecutionContext): KeepAnswer | undefined =>
    context.switchToHttp().getRequest<FastifyRequest>().keepAnswer,
);

export interface IdempotentRoute {
  scope: ScopeOf;
  /** The body as the route's validation makes it, or a 400. */
  validate(body: unknown): Promise<unknown>;
}

export const IDEMPOTENT_ROUTE = Symbol('idempotent route');

function idempotentRouteOf(context: ExecutionContext): IdempotentRoute | undefined {
  return Reflect.getMetadata(IDEMPOTENT_ROUTE, context.getHandler()) as IdempotentRoute | undefined;
}

function keyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    throw badRequest(
      "Idempotency-Key must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
    );
  }
  return value;
}
