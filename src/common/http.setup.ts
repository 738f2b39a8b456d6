import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { Logger } from 'pino';
import { identityFields, identityOf } from './request-identity';
import { badRequest, ERRORS } from './domain.error';
import { CallerView, callerView, TrustRule } from './forwarded';
import { TraceContext, traceOf, traceparentOf } from './trace-context';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for the Qiniu MAC signature of /server requests. */
    rawBody?: string;
    /** The request as its caller made it, through the trusted proxies (TRUST_PROXY). */
    caller: CallerView;
    /** The request's trace: the caller's `traceparent` with a span of ours, or a new trace. */
    trace: TraceContext;
  }
  interface FastifyInstance {
    /** The methods routed for this URL's path, empty when no route template matches it. */
    allowedMethods(url: string): string[];
  }
}

export const BODY_LIMIT = 64 * 1024;
export const MAX_JSON_DEPTH = 32;
/** The contract's rule for an incoming X-Request-Id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/**
 * An id from the header REQUEST_ID_HEADER names instead, made by a gateway the operator chose:
 * printable ASCII without quotes, backslashes or spaces, at most 200 characters, wide enough for
 * Kong's `<uuid>#<n>` and AWS's `Root=1-...;Parent=...`, narrow enough to echo in a header.
 */
const GATEWAY_REQUEST_ID = /^[!#-[\]-~]{1,200}$/;

/**
 * Whether JSON text opens more than `max` objects or arrays inside each other. The validation
 * pipe and class-transformer recurse into a body, so depth is refused before parsing, by a
 * linear scan that itself never recurses; malformed text is left to the parser to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // Cannot open more containers than it has characters.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * What Node's parser lets through but the contract refuses, checked once per request from
 * headers alone. Node's own answer to a missing Host is an empty 400, so the server is told
 * not to require it and the refusal is made here, in the envelope.
 */
function framingProblem(raw: IncomingMessage): Error | undefined {
  const { headers } = raw;
  if (headers.host === undefined && raw.httpVersion === '1.1') {
    return badRequest('the Host header is required');
  }
  const hasBody =
    (headers['content-length'] !== undefined && headers['content-length'] !== '0') ||
    headers['transfer-encoding'] !== undefined;
  if (!hasBody) return undefined;
  // A GET is answered before its body would be read, so a broken body would go unnoticed and
  // the answer would depend on timing; no read of this API takes one.
  if (raw.method === 'GET' || raw.method === 'HEAD') {
    return badRequest(`a ${raw.method} request has no body`);
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return badRequest('bodies are not compressed: send them without Content-Encoding');
  }
  return undefined;
}

const CLIENT_ERRORS: Record<string, [status: number, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, ERRORS[431].message],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'send Content-Length or Transfer-Encoding, not both'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'Transfer-Encoding must be chunked, without Content-Length'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'Content-Length is not a valid length'],
  HPE_INVALID_CHUNK_SIZE: [400, 'the chunked body is malformed'],
  HPE_INVALID_EOF_STATE: [400, 'the request ended before it was complete'],
  ERR_HTTP_REQUEST_TIMEOUT: [400, 'the request did not arrive in time'],
};

/**
 * Node's answer to a request its parser refuses, before any route or hook can run: the same
 * envelope as every other error, written straight on the socket, which is then closed because
 * the rest of its bytes cannot be trusted to start a request.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && response?.headersSent !== true) {
    const [status, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'malformed HTTP request'];
    const requestId = randomUUID();
    const body = JSON.stringify({ request_id: requestId, code: status, message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}

/**
 * The methods of every route template, to tell a wrong method on a known path (405) from an
 * unknown path (404). Only consulted when no route matched, so the success path never pays.
 */
class RouteTable {
  private readonly templates = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(method: string | string[], url: string): void {
    // Catch-alls (CORS preflight, static files) would make every path known.
    if (url.includes('*')) return;
    let entry = this.templates.get(url);
    if (entry === undefined) {
      const pattern = url
        .split('/')
        .map((segment) => (segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment)))
        .join('/');
      entry = { pattern: new RegExp(`^${pattern}$`), methods: new Set() };
      this.templates.set(url, entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m);
  }

  methodsOf(url: string): string[] {
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const methods = new Set<string>();
    for (const { pattern, methods: own } of this.templates.values()) {
      if (pattern.test(path)) for (const m of own) methods.add(m);
    }
    return [...methods].sort();
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The id a gateway gave the request in `header` (lower case) when it is usable, else a new one. */
export function requestIdFrom(header: string): (raw: IncomingMessage) => string {
  const valid = header === 'x-request-id' ? REQUEST_ID : GATEWAY_REQUEST_ID;
  return (raw) => {
    const incoming = raw.headers[header];
    return typeof incoming === 'string' && valid.test(incoming) ? incoming : randomUUID();
  };
}

/**
 * helmet's security headers for this API, worked out once: none depends on the request, and
 * running helmet on every request cost more CPU than reading a relay from the database. Swagger
 * UI's inline scripts rule out a content security policy.
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
  };
  helmet({ contentSecurityPolicy: false, crossOriginResourcePolicy: { policy: 'cross-origin' } })(
    {} as IncomingMessage,
    response as unknown as ServerResponse,
    () => undefined,
  );
  return headers;
}

/** Told of every answer, by route template (for the HTTP metrics). */
export interface RequestObserver {
  answered(method: string, route: string, status: number, seconds: number): void;
}

/** Every JSON answer is an envelope, except the OpenAPI document that Swagger UI reads. */
const wrapsInEnvelope = (url: string) => !url.startsWith('/docs');

/**
 * Fastify-level plumbing that must run outside Nest: request ids, the access log and HTTP
 * metrics, body parsing that keeps the raw text, and the success envelope (a serialization hook
 * instead of an rxjs interceptor, which costs tens of microseconds a request). Parser errors
 * reach Nest's exception filter.
 */
export function setUpHttp(
  fastify: FastifyInstance,
  logger: Logger,
  observer: RequestObserver,
  trust: TrustRule,
): void {
  const routes = new RouteTable();
  const security = securityHeaders();
  fastify.decorateRequest('caller', null as unknown as CallerView);
  fastify.decorateRequest('trace', null as unknown as TraceContext);
  fastify.addHook('onRequest', (request, reply, done) => {
    request.caller = callerView(request.headers, request.raw.socket.remoteAddress ?? '', trust);
    request.trace = traceOf(request.headers.traceparent);
    reply.headers(security);
    reply.header('x-request-id', request.id);
    reply.header('traceparent', traceparentOf(request.trace));
    const problem = framingProblem(request.raw);
    // What follows a refused request on the connection cannot be trusted to be a request.
    if (problem !== undefined) reply.header('connection', 'close');
    done(problem);
  });

  fastify.addHook('onRoute', (route) => routes.add(route.method, route.url));
  fastify.decorate('allowedMethods', (url: string) => routes.methodsOf(url));

  fastify.addHook('onResponse', (request, reply, done) => {
    // The route template, not the URL: bounded label values, and no ?access_token= in logs.
    const route = request.routeOptions.url ?? 'unmatched';
    observer.answered(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // The line is only built when it is written: at a level above info (as under load) its
    // fields cost more than the rest of the hook.
    if (
      logger.isLevelEnabled('info') &&
      route !== '/healthz' &&
      route !== '/readyz' &&
      route !== '/metrics'
    ) {
      logger.info(
        {
          ...identityFields(identityOf(request)),
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ip: request.caller.ip,
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
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(
        badRequest(`JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`),
        undefined,
      );
    }
    void parseJson(request, text, (error, parsed) => {
      if (error === null) return done(null, parsed);
      // The parser refuses keys that would reach an object's prototype; the body is valid JSON,
      // so the answer says which key instead of calling it malformed.
      const refused = text.includes('"__proto__"')
        ? '__proto__'
        : text.includes('"constructor"') && text.includes('"prototype"')
          ? 'constructor.prototype'
          : undefined;
      done(
        badRequest(
          refused === undefined
            ? 'malformed JSON body'
            : `the JSON key ${refused} is not accepted: it would reach an object's prototype`,
        ),
        undefined,
      );
    });
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
