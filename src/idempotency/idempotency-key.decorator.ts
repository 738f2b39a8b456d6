import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { badRequest } from '../common/domain.error';

const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const readKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): string | undefined => {
    const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
      throw badRequest(
        "Idempotency-Key must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
      );
    }
    return value;
  },
);

/**
 * The optional `Idempotency-Key` request header, validated here (400) and documented with the
 * same pattern, so the OpenAPI parameter cannot say something other than what the route does.
 */
export function IdempotencyKeyHeader(): ParameterDecorator {
  return (target, key, index) => {
    readKey()(target, key, index);
    const descriptor = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (key === undefined || descriptor === undefined) return;
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'makes a retry safe: a repeat with the same key and body within 24 hours answers the ' +
        'first answer again (with `Idempotent-Replayed: true`) and creates nothing',
      schema: { type: 'string', pattern: KEY_PATTERN.source, example: 'start-7f3a9c' },
    })(target, key, descriptor);
  };
}
