import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiResponse,
  ContentObject,
  getSchemaPath,
  MediaTypeObject,
  ReferenceObject,
  SchemaObject,
} from '@nestjs/swagger';
import { ErrorCode } from './domain.error';

/** The request id as the service writes it: the caller's X-Request-Id or a generated UUID. */
const EXAMPLE_REQUEST_ID = '6f1c0b1e-3c55-4d4e-9d9b-1f0b6d1f2a10';
const REQUEST_ID_SCHEMA: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z0-9._:-]{1,128}$',
  example: EXAMPLE_REQUEST_ID,
};

interface ErrorDoc {
  /** When the service answers this code, for the response description. */
  when: string;
  /** A message the service really sends with this code. */
  example: string;
}

/** Every code of the contract's error table (and of the operations routes), in plain words. */
const ERRORS: Record<ErrorCode, ErrorDoc> = {
  400: {
    when: 'malformed JSON, missing, ill-typed or unknown field, value out of range, bad identifier',
    example: 'recv_room_id must be 1-64 characters of letters, digits, _ . : -',
  },
  401: {
    when: 'missing, malformed or badly signed token or signature',
    example: 'invalid token',
  },
  499: { when: 'token expired', example: 'token expired' },
  403: {
    when: 'authenticated, but not allowed (not the anchor, not a participant)',
    example: 'you are not an anchor of relay relay_8c1d2e',
  },
  404: {
    when: "no such room, relay or delivery (in the caller's app)",
    example: 'relay relay_8c1d2e not found',
  },
  413: { when: 'body larger than 64 KiB', example: 'request body is larger than 64 KiB' },
  429: {
    when: 'more than RATE_LIMIT_PER_MINUTE requests of this user in this minute',
    example: 'more than 120 requests a minute; retry in 17 s',
  },
  500: { when: 'internal error', example: 'internal error' },
  503: { when: 'the database does not answer', example: 'database unreachable' },
  600: { when: 'already exists', example: 'already exists' },
  601: {
    when: 'not allowed in the current status',
    example: 'cannot accept a relay in status 6',
  },
  602: { when: 'database error', example: 'database error' },
};

/** The HTTP status of each code, as the exception filter answers it. */
const HTTP_STATUS: Record<ErrorCode, number> = {
  400: 400,
  401: 401,
  499: 401,
  403: 403,
  404: 404,
  413: 413,
  429: 429,
  500: 500,
  503: 503,
  600: 409,
  601: 409,
  602: 500,
};

/** A success that is not JSON (the event stream, the Prometheus text). */
export interface ApiTextAnswer {
  mediaType: 'text/event-stream' | 'text/plain';
  description: string;
  example: string;
}

/**
 * Documents a route's answers, every one of them: the success (the contract's envelope with
 * `data` of the given model, without `data` for `null`, or a text answer) and, per HTTP status,
 * the error envelope with exactly the listed codes and an example of each. The e2e suite checks
 * every response against this, so list each code the route can really answer, and no other.
 */
export function ApiEnvelope(
  success: Type<unknown> | null | ApiTextAnswer,
  errors: readonly ErrorCode[],
) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errors) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const models = typeof success === 'function' ? [success] : [];
  return applyDecorators(
    ApiExtraModels(...models),
    ApiResponse({ status: 200, ...successResponse(success) }),
    ...[...byStatus].map(([status, codes]) =>
      ApiResponse({
        status,
        description: codes.map((code) => `code ${code}: ${ERRORS[code].when}`).join('; '),
        content: { 'application/json': errorContent(codes) },
      }),
    ),
  );
}

function successResponse(success: Type<unknown> | null | ApiTextAnswer): {
  description: string;
  content: ContentObject;
} {
  if (success !== null && typeof success === 'object') {
    return {
      description: success.description,
      content: {
        [success.mediaType]: { schema: { type: 'string' }, example: success.example },
      },
    };
  }
  const data: Record<string, ReferenceObject> =
    success === null ? {} : { data: { $ref: getSchemaPath(success) } };
  return {
    description: success === null ? 'success: code 0, no data' : 'success: code 0',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['request_id', 'code', 'message', ...Object.keys(data)],
          additionalProperties: false,
          properties: {
            request_id: REQUEST_ID_SCHEMA,
            code: { type: 'integer', enum: [0] },
            message: { type: 'string', enum: ['success'] },
            ...data,
          },
        },
      },
    },
  };
}

function errorContent(codes: ErrorCode[]): MediaTypeObject {
  return {
    schema: {
      type: 'object',
      description: 'the error envelope: never `data`',
      required: ['request_id', 'code', 'message'],
      additionalProperties: false,
      properties: {
        request_id: REQUEST_ID_SCHEMA,
        code: { type: 'integer', enum: codes },
        message: { type: 'string', minLength: 1, description: 'what was wrong, in plain words' },
      },
    },
    examples: Object.fromEntries(
      codes.map((code) => [
        `code_${code}`,
        {
          summary: `code ${code}: ${ERRORS[code].when}`,
          value: { request_id: EXAMPLE_REQUEST_ID, code, message: ERRORS[code].example },
        },
      ]),
    ),
  };
}

/** What every /client route can answer: bad input, a bad or expired token, the rate limit. */
export const CLIENT_ERRORS = [400, 401, 499, 429] as const;
/** What every /server route can answer: bad input, a bad signature. */
export const SERVER_ERRORS = [400, 401] as const;
/** A route that reaches the database: an internal or a database error. */
export const DATABASE_ERRORS = [500, 602] as const;
