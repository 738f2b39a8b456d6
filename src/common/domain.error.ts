/**
 * Numeric codes of docs/api.md, "Envelope and errors". Services throw DomainError with one of these and
 * the single exception filter turns it into the envelope; nothing else decides HTTP statuses.
 */
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
  AlreadyExists: 600,
  BadStatus: 601,
  Database: 602,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Record<ErrorCode, number> = {
  400: 400,
  401: 401,
  403: 403,
  404: 404,
  413: 413,
  429: 429,
  503: 503,
  499: 401,
  500: 500,
  600: 409,
  601: 409,
  602: 500,
};

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export const badRequest = (message: string) => new DomainError(ErrorCode.BadRequest, message);
export const forbidden = (message: string) => new DomainError(ErrorCode.Forbidden, message);
export const notFound = (message: string) => new DomainError(ErrorCode.NotFound, message);
export const badStatus = (message: string) => new DomainError(ErrorCode.BadStatus, message);
