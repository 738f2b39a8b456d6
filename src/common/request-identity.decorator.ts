import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { identityOf, RequestIdentity } from './request-identity';

/** The identity of the request, for services that log or retry on its behalf. */
export const Requester = createParamDecorator(
  (_: unknown, context: ExecutionContext): RequestIdentity =>
    identityOf(context.switchToHttp().getRequest<FastifyRequest>()),
);
