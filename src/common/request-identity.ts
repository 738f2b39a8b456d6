import { FastifyRequest } from 'fastify';
import { TraceContext } from './trace-context';

/**
 * Whom the log lines written for a request name: the request, and its client once the token is
 * checked (a ClientUser is one). It is handed to the few places that log on a request's behalf
 * rather than kept in AsyncLocalStorage, which on Node 20 runs promise hooks for every promise
 * of the process, requests or not (a read makes about 70).
 */
export interface RequestIdentity {
  readonly requestId: string;
  readonly userId?: string;
  readonly appId?: string;
  /** The request's trace, for the trace_id and span_id of its log lines and its webhooks. */
  readonly trace?: TraceContext;
}

/** The fields a log line carries for `who`: none for work that serves no request. */
export function identityFields(who: RequestIdentity | undefined): Record<string, string> {
  if (who === undefined) return {};
  const fields: Record<string, string> = { request_id: who.requestId };
  if (who.userId !== undefined) fields.user_id = who.userId;
  if (who.appId !== undefined) fields.app_id = who.appId;
  if (who.trace !== undefined) {
    fields.trace_id = who.trace.traceId;
    fields.span_id = who.trace.spanId;
  }
  return fields;
}

/** The identity of a request, with the client the guard found (if any). */
export function identityOf(request: FastifyRequest): RequestIdentity {
  const user = (request as { user?: RequestIdentity }).user;
  // Before onRequest has run (a request refused by the router) there is no trace yet.
  return user ?? { requestId: request.id, trace: request.trace ?? undefined };
}
