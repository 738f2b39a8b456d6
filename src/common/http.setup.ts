import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { Metrics } from '../observability/metrics.service';
import { requestContext } from '../observability/request-context';
import { badRequest } from './domain.error';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for the Qiniu MAC signature of /server requests. */
    rawBody?: string;
  }
}

export const BODY_LIMIT = 64 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(raw: IncomingMessage): string {
  const incoming = raw.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Every JSON answer is an envelope, except the OpenAPI document that Swagger UI reads. */
const wrapsInEnvelope = (url: string) => !url.startsWith('/docs');

/**
 * Fastify-level plumbing that must run outside Nest: request ids and their log context, the
 * access log and HTTP metrics, body parsing that keeps the raw text, and the success envelope (a serialization hook instead of an rxjs interceptor,
 * which costs tens of microseconds a request). Parser errors reach Nest's exception filter.
 */
export function setUpHttp(fastify: FastifyInstance, logger: Logger, metrics: Metrics): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // Everything this request runs from here on logs with its id (and later its user).
    requestContext.run({ request_id: request.id }, done);
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    // The route template, not the URL: bounded label values, and no ?access_token= in logs.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status_code: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    if (route !== '/healthz' && route !== '/readyz' && route !== '/metrics') {
      logger.info(
        {
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ip: request.ip,
        },
        'request',
      );
    }
    done();
  });

  fastify.addHook(
    'preSerialization',
    (request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
      if (reply.statusCode >= 400 || !wrapsInEnvelope(request.url)) return done(null, payload);
      const envelope: Record<string, unknown> = {
        request_id: request.id,
        code: 0,
        message: 'success',
      };
      if (payload !== undefined && payload !== null) envelope.data = payload;
      done(null, envelope);
    },
  );

  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    parseJson(request, text, done);
  });
  // Clients of the original API post bodiless actions with any Content-Type (or none); keep the
  // text for signatures and refuse only a non-empty body we cannot read.
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    done(badRequest('unsupported Content-Type; send application/json'), undefined);
  });
}
