import { HttpException, Logger, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { identityFields, RequestIdentity } from './request-identity';
import { DomainError, ErrorCode, ERRORS } from './domain.error';

export interface ErrorEnvelope {
  request_id: string;
  code: number;
  message: string;
}

export interface ErrorAnswer {
  status: number;
  body: ErrorEnvelope;
}

const DATABASE_ERROR_CODES =
  /^(ER_|SQLITE_|PROTOCOL_|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH)/;

function isDatabaseError(error: unknown): boolean {
  if (error instanceof QueryFailedError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DATABASE_ERROR_CODES.test(code);
}

const logger = new Logger('HTTP');

/**
 * The one mapping from anything thrown to the contract's envelope, including Fastify's body
 * parsing errors, which Nest hands to the same filter. Internal errors are logged with their
 * stack; the client only ever reads a fixed sentence.
 */
export function toErrorAnswer(error: unknown, who: RequestIdentity): ErrorAnswer {
  const answer = (status: number, code: number, message: string): ErrorAnswer => ({
    status,
    body: { request_id: who.requestId, code, message },
  });
  if (error instanceof DomainError) return answer(error.httpStatus, error.code, error.message);
  const status =
    error instanceof HttpException
      ? error.getStatus()
      : (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return answer(413, ErrorCode.PayloadTooLarge, ERRORS[413].message);
    if (status === 404) return answer(404, ErrorCode.NotFound, 'no such route');
    if (error instanceof SyntaxError)
      return answer(400, ErrorCode.BadRequest, 'malformed JSON body');
    if (status === 401 || status === 403) return answer(status, status, messageOf(error));
    return answer(400, ErrorCode.BadRequest, messageOf(error));
  }
  if (isDatabaseError(error)) {
    logger.error(`database error: ${describe(error)}`, identityFields(who));
    return answer(500, ErrorCode.Database, ERRORS[602].message);
  }
  logger.error(`internal error: ${describe(error)}`, identityFields(who));
  return answer(500, ErrorCode.Internal, ERRORS[500].message);
}

/** The 404 of a request no route matched, as opposed to a resource a service did not find. */
export function isUnroutedError(error: unknown): boolean {
  return error instanceof NotFoundException;
}

function messageOf(error: unknown): string {
  if (!(error instanceof HttpException)) return (error as Error).message;
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
