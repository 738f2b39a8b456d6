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
import { ErrorCode, ERRORS } from './domain.error';

/**
 * The request id as the service writes it: the one the caller or its gateway sent in
 * REQUEST_ID_HEADER (X-Request-Id by default), or a generated UUID.
 */
const EXAMPLE_REQUEST_ID = '6f1c0b1e-3c55-4d4e-9d9b-1f0b6d1f2a10';
const REQUEST_ID_SCHEMA: SchemaObject = {
  type: 'string',
  pattern: '^[!#-\\[\\]-~]{1,200}$',
  example: EXAMPLE_REQUEST_ID,
};

/**
 * Every answer carries its request id, the same as `request_id` in the envelope, and every
 * answer of a route its W3C `traceparent` (not those Node's parser refuses before any route).
 */
export const ANSWER_HEADERS: HeadersObject = {
  'X-Request-Id': {
    description:
      'the request id: the one the caller or its gateway sent (X-Request-Id, or the header ' +
      'REQUEST_ID_HEADER names) when valid, else a generated one',
    required: true,
    schema: REQUEST_ID_SCHEMA,
  },
  traceparent: {
    description:
      "W3C Trace Context: the caller's trace (a new one when it sent no valid traceparent), " +
      "with this service's span of the request as parent-id; log lines and webhooks of the " +
      'request carry the same trace',
    required: false,
    schema: {
      type: 'string',
      pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
      example: '00-4bf92f3577b34da6a3ce929d0e0e4736-a3ce929d0e0e4736-01',
    },
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
const HTTP_LAYER_ERRORS = [400, 405, 431] as const satisfies readonly ErrorCode[];

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
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...errors, ...HTTP_LAYER_ERRORS])) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const models = typeof success === 'function' ? [success] : [];
  return applyDecorators(
    ApiExtraModels(...models),
    ApiResponse({
      status: 200,
      headers: { ...ANSWER_HEADERS, ...headers },
      ...successResponse(success),
    }),
    ...[...byStatus].map(([status, codes]) => {
      const response = errorResponse(status, codes);
      return ApiResponse({ ...response, headers: { ...response.headers, ...headers } });
    }),
  );
}

/** The error answer of one HTTP status: its codes, headers and envelope with examples. */
function errorResponse(status: number, codes: ErrorCode[]) {
  return {
    status,
    description: codes.map((code) => `code ${code}: ${ERRORS[code].when}`).join('; '),
    headers: { ...ANSWER_HEADERS, ...ERROR_HEADERS[status] },
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
      const { status, ...response } = errorResponse(ERRORS[code].status, [code]);
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
          value: { request_id: EXAMPLE_REQUEST_ID, code, message: ERRORS[code].message },
        },
      ]),
    ),
  };
}

/**
 * A property that holds the given model or null. OpenAPI 3.0 ignores `nullable` beside a bare
 * `$ref`, so the reference is wrapped; the model must be registered (ApiExtraModels) where used.
 */
export function nullableRef(model: Type<unknown> | string): {
  nullable: true;
  allOf: ReferenceObject[];
} {
  return { nullable: true, allOf: [{ $ref: getSchemaPath(model) }] };
}

/** What every /client route can answer: bad input, a bad or expired token, the rate limit. */
export const CLIENT_ERRORS = [400, 401, 499, 429] as const;
/** What every /server route can answer: bad input, a bad signature. */
export const SERVER_ERRORS = [400, 401] as const;
/** A route that reaches the database: an internal or a database error. */
export const DATABASE_ERRORS = [500, 602] as const;
