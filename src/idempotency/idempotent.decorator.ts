import { applyDecorators, SetMetadata, Type, UseInterceptors } from '@nestjs/common';
import { ApiHeader, HeadersObject } from '@nestjs/swagger';
import { createValidationPipe } from '../common/validation';
import {
  IDEMPOTENT_ROUTE,
  IdempotencyInterceptor,
  IdempotentRoute,
  KEY_PATTERN,
  ScopeOf,
} from './idempotency.interceptor';
import { REPLAYED_HEADER } from './idempotency.service';

/** The header every answer of an idempotent route may carry, for its ApiEnvelope. */
export const REPLAYED_HEADER_DOC: HeadersObject = {
  [REPLAYED_HEADER]: {
    description: 'true when this is the stored answer of an earlier request with the key',
    required: false,
    schema: { type: 'string', enum: ['true'] },
  },
};

/**
 * A route that takes an optional `Idempotency-Key` header: documented with the pattern the
 * interceptor enforces, so the OpenAPI parameter cannot say something other than what the route
 * does. `body` is the route's body class, validated before the key is used.
 */
export function Idempotent(body: Type<unknown>, scope: ScopeOf): MethodDecorator {
  const pipe = createValidationPipe();
  const route: IdempotentRoute = {
    scope,
    validate: (value) => pipe.transform(value, { type: 'body', metatype: body }),
  };
  return applyDecorators(
    SetMetadata(IDEMPOTENT_ROUTE, route),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'makes a retry safe: a repeat with the same key and body within 24 hours answers the ' +
        'first answer again (with `Idempotent-Replayed: true`) and creates nothing. Use a new ' +
        'key for each new request, and for a retry after fixing what made the first one fail',
      schema: { type: 'string', pattern: KEY_PATTERN.source },
    }),
  );
}
