import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiResponse,
  ContentObject,
  getSchemaPath,
  HeadersObject,
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

/**
 * Codes the HTTP layer answers before any route runs (a wrong method on a known path, headers
 * too large), next to those that services throw.
 */
type DocumentedCode = ErrorCode | 405 | 431;

interface ErrorDoc {
  /** When the service answers this code, for the response description. */
  when: string;
  /** A message the service really sends with this code. */
  example: string;
}

/** Every code of the contract's error table (and of the operations routes), in plain words. */
const ERRORS: Record<DocumentedCode, ErrorDoc> = {
  400: {
    when:
      'malformed JSON or JSON nested deeper than 32 levels, missing, ill-typed or unknown field, ' +
      'value out of range, bad identifier, control character in a text field; or malformed ' +
      'framing (both Content-Length and Transfer-Encoding, a bad Content-Length, a body shorter ' +
      'than announced, a bad chunk, no Host), a Content-Encoding other than identity',
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
  405: {
    when: 'a method this path does not have; the Allow header lists those it has',
    example: 'method DELETE is not allowed on this path; allowed: GET, HEAD',
  },
  413: { when: 'body larger than 64 KiB', example: 'request body is larger than 64 KiB' },
  429: {
    when: 'more than RATE_LIMIT_PER_MINUTE requests of this user in this minute',
    example: 'more than 120 requests a minute; retry in 17 s',
  },
  431: { when: 'request headers too large', example: 'request headers are too large' },
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
const HTTP_STATUS: Record<DocumentedCode, number> = {
  400: 400,
  401: 401,
  499: 401,
  403: 403,
  404: 404,
  405: 405,
  413: 413,
  429: 429,
  431: 431,
  500: 500,
  503: 503,
  600: 409,
  601: 409,
  602: 500,
};

/** Every answer carries its request id, the same as `request_id` in the envelope. */
export const REQUEST_ID_HEADER: HeadersObject = {
  'X-Request-Id': {
    description: "the request id: the caller's X-Request-Id when valid, else a generated one",
    required: true,
    schema: REQUEST_ID_SCHEMA,
  },
};

/** Headers that an error status carries besides the request id. */
const ERROR_HEADERS: Partial<Record<number, HeadersObject>> = {
  405: {
    Allow: {
      description: 'the methods this path has, comma separated',
      required: true,
      schema: { type: 'string', example: 'GET, HEAD' },
    },
  },
  429: {
    'Retry-After': {
      description: 'seconds until the rate limit window resets',
      required: true,
      schema: { type: 'integer', minimum: 1, example: 17 },
    },
  },
};

/**
 * What any route can answer from the HTTP layer, before it runs: malformed framing or body
 * (400), a method the path does not have (405), headers too large (431).
 */
const HTTP_LAYER_ERRORS = [400, 405, 431] as const;

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
 * every response against this, so list each code the route can really answer, and no other;
 * the HTTP layer's codes (HTTP_LAYER_ERRORS) are added to every route.
 */
export function ApiEnvelope(
  success: Type<unknown> | null | ApiTextAnswer,
  errors: readonly ErrorCode[],
  /** Headers that any answer of the route may carry (the success and every error). */
  headers: HeadersObject = {},
) {
  const byStatus = new Map<number, DocumentedCode[]>();
  for (const code of new Set<DocumentedCode>([...errors, ...HTTP_LAYER_ERRORS])) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const models = typeof success === 'function' ? [success] : [];
  return applyDecorators(
    ApiExtraModels(...models),
    ApiResponse({
      status: 200,
      headers: { ...REQUEST_ID_HEADER, ...headers },
      ...successResponse(success),
    }),
    ...[...byStatus].map(([status, codes]) => {
      const response = errorResponse(status, codes);
      return ApiResponse({ ...response, headers: { ...response.headers, ...headers } });
    }),
  );
}

/** The error answer of one HTTP status: its codes, headers and envelope with examples. */
function errorResponse(status: number, codes: DocumentedCode[]) {
  return {
    status,
    description: codes.map((code) => `code ${code}: ${ERRORS[code].when}`).join('; '),
    headers: { ...REQUEST_ID_HEADER, ...ERROR_HEADERS[status] },
    content: { 'application/json': errorContent(codes) },
  };
}

/**
 * The statuses the HTTP layer can answer on any path, for the routes that Swagger serves itself
 * (outside Nest's routes), so that they are described exactly as the others.
 */
export function httpLayerResponses() {
  return Object.fromEntries(
    HTTP_LAYER_ERRORS.map((code) => {
      const { status, ...response } = errorResponse(HTTP_STATUS[code], [code]);
      return [status, response];
    }),
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

function errorContent(codes: DocumentedCode[]): MediaTypeObject {
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
