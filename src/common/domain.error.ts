/**
 * The one error table (docs/api.md, "Envelope and errors"): every code the service answers, its
 * HTTP status, when it is answered and a message it really sends (the only message, for the
 * codes whose message never varies). Services throw DomainError with one of these codes; the
 * exception filter and the HTTP layer answer them; the OpenAPI document describes them from
 * here. 600 ("already exists") of the original API is not listed: no request answers it.
 */
export const ERRORS = {
  400: {
    status: 400,
    when:
      'malformed JSON or JSON nested deeper than 32 levels, missing, ill-typed or unknown field, ' +
      'value out of range, bad identifier, control character in a text field; or malformed ' +
      'framing (both Content-Length and Transfer-Encoding, a bad Content-Length, a body shorter ' +
      'than announced, a bad chunk, no Host), a Content-Encoding other than identity',
    message: 'recv_room_id must be 1-64 characters of letters, digits, _ . : -',
  },
  401: {
    status: 401,
    when: 'missing, malformed or badly signed token or signature',
    message: 'invalid token',
  },
  403: {
    status: 403,
    when: 'authenticated, but not allowed (not the anchor, not a participant)',
    message: 'you are not an anchor of relay relay_8c1d2e',
  },
  404: {
    status: 404,
    when: "no such room, relay or delivery (in the caller's app)",
    message: 'relay relay_8c1d2e not found',
  },
  405: {
    status: 405,
    when: 'a method this path does not have; the Allow header lists those it has',
    message: 'DELETE is not allowed here; use GET, HEAD',
  },
  413: {
    status: 413,
    when: 'body larger than 64 KiB',
    message: 'request body is larger than 64 KiB',
  },
  429: {
    status: 429,
    when: 'more than RATE_LIMIT_PER_MINUTE requests of this user in this minute',
    message: 'more than 120 requests a minute; retry in 17 s',
  },
  431: {
    status: 431,
    when: 'request headers too large',
    message: 'request headers are too large',
  },
  499: { status: 401, when: 'token expired', message: 'token expired' },
  500: { status: 500, when: 'internal error', message: 'internal error' },
  503: {
    status: 503,
    when: 'the database does not answer; a node that is shutting down',
    message: 'database unreachable',
  },
  601: {
    status: 409,
    when: 'not allowed in the current status',
    message: 'cannot accept a relay in status 6 (relay ended: invite_timeout)',
  },
  602: { status: 500, when: 'database error', message: 'database error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Names for the codes that services throw. */
export const ErrorCode = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  ServiceUnavailable: 503,
  TokenExpired: 499,
  Internal: 500,
  BadStatus: 601,
  Database: 602,
} as const satisfies Record<string, ErrorCode>;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get httpStatus(): number {
    return ERRORS[this.code].status;
  }
}

export const badRequest = (message: string) => new DomainError(ErrorCode.BadRequest, message);
export const forbidden = (message: string) => new DomainError(ErrorCode.Forbidden, message);
export const notFound = (message: string) => new DomainError(ErrorCode.NotFound, message);
export const badStatus = (message: string) => new DomainError(ErrorCode.BadStatus, message);
