import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { callerBaseUrl } from '../common/forwarded';
import { httpLayerResponses, ANSWER_HEADERS } from '../common/api-envelope.decorator';
import { AppConfig } from '../config/app.config';
import { STREAM_PREVIEW_S, SWAGGER_UI_SCRIPT } from './swagger-ui.script';

const QINIU_SCHEME_DESCRIPTION = [
  'Server API: `Authorization: Qiniu <AccessKey>:<sign>`, signed with SERVER_ACCESS_KEY and',
  'SERVER_SECRET_KEY. A missing or wrong signature is 401 with code 401.',
  '',
  '**In this Swagger UI, type `<AccessKey>:<SecretKey>` as the value.** The page signs each',
  "request in the browser, as the SDK's `util.generateAccessTokenV2` does, and sends only",
  '`Authorization: Qiniu <AccessKey>:<sign>`: the SecretKey never reaches the server. Like every',
  "authorization here, it is kept in this browser's local storage until you log out. A value",
  'that already starts with `Qiniu ` is sent unchanged.',
  '',
  "The signature is the Qiniu MAC of the request, the same as Qiniu's SDKs make",
  '(`Credentials.generateAccessToken`, `util.generateAccessTokenV2`): `sign` is the',
  'URL-safe base64 of HMAC-SHA1(SecretKey, signing string), where the signing string is',
  '',
  '    <METHOD> <path>[?<raw query>]\\nHost: <Host header as received>[\\nContent-Type: <content type>]',
  '    [\\n<X-Qiniu-* headers, "Name: value", sorted by name>]\\n\\n[<raw body>]',
  '',
  'The body is included only when there is a Content-Type other than `application/octet-stream`;',
  '`X-Qiniu-*` header names are written in canonical form (`X-Qiniu-Date`).',
].join('\n');

const SERVER_DESCRIPTION = 'this service, as this document was fetched';

/**
 * The service's URL as the caller of /docs or /docs-json used it, through the trusted gateway in
 * front (its scheme, host and path prefix), so that Try it out and code generators reach the
 * service the way the reader does.
 */
function serverFor(request: FastifyRequest): { url: string; description: string } {
  return { url: callerBaseUrl(request.caller) ?? '.', description: SERVER_DESCRIPTION };
}

const EVENT_STREAM_NOTE =
  'Follow event streams with `EventSource`; here, Execute shows only their first ' +
  `${STREAM_PREVIEW_S} seconds.`;

/**
 * The timers a person trying requests by hand runs into first, with this service's values: a
 * room whose heartbeats stopped while they read the page is stopped, and its relay ends.
 */
export function timersNote(config: Pick<AppConfig, 'roomHeartbeatTimeoutS' | 'relay'>): string {
  const { inviteTimeoutS, joinTimeoutS } = config.relay;
  const after = (seconds: number, what: string) =>
    seconds === 0 ? `${what} never expires here` : `${what} expires after ${seconds} s`;
  const heartbeat =
    config.roomHeartbeatTimeoutS === 0
      ? 'Live rooms need no heartbeat here (ROOM_HEARTBEAT_TIMEOUT_S=0).'
      : `**Timers.** A live room is stopped ${config.roomHeartbeatTimeoutS} s after its last ` +
        '`GET /client/live/room/heartbeat/{live_id}` (ROOM_HEARTBEAT_TIMEOUT_S), and its relay ' +
        'ends with `room_offline`: when trying requests by hand, send a heartbeat now and then, ' +
        'or start the service with ROOM_HEARTBEAT_TIMEOUT_S=0.';
  return (
    `${heartbeat} ${after(inviteTimeoutS, 'An invitation')} (RELAY_INVITE_TIMEOUT_S, ` +
    `\`invite_timeout\`); ${after(joinTimeoutS, 'an agreed relay not at status 4')} ` +
    '(RELAY_JOIN_TIMEOUT_S, `join_timeout`). A request on an ended relay says how it ended.'
  );
}

/**
 * Serves the OpenAPI document at /docs-json and Swagger UI at /docs, where the server API can
 * be tried with the keys typed once into Authorize (see SWAGGER_UI_SCRIPT) and authorization
 * survives a reload.
 */
export function setUpSwagger(app: INestApplication, config: AppConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Cross-room relay')
      .setDescription(
        'Co-host / PK relays between live rooms. Every JSON answer is the envelope ' +
          '{request_id, code, message, data}: code 0 and `data` on success (left out when there ' +
          'is nothing to return), an error code and no `data` otherwise. The X-Request-Id header ' +
          'carries the same request id. To try the client API, authorize `bearer` with a client ' +
          'JWT (npm run token -- --user alice); for the server API, authorize `qiniu` with ' +
          `\`<AccessKey>:<SecretKey>\`, signed in this page. ${EVENT_STREAM_NOTE}\n\n` +
          timersNote(config),
      )
      .setVersion('1.0')
      // Replaced for each request by the URL its caller used (serverFor); relative to where the
      // document was fetched from when the request named no host.
      .addServer('.', SERVER_DESCRIPTION)
      .addTag('rooms', 'Live rooms (client API, client JWT)')
      .addTag('relay', 'Relay sessions and their event stream (client API, client JWT)')
      .addTag('battle', 'Battles (PK rounds) and contributions of a relay (client API, client JWT)')
      .addTag('match', 'Random PK: matchmaking tickets (client API, client JWT)')
      .addTag('server', "The customer's backend (server API, Qiniu signature)")
      .addTag('operations', 'Health, readiness, metrics and these docs (no authentication)')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'Client API: `Authorization: Bearer <jwt>` (the bare `<jwt>` is accepted too). HS256 ' +
          'with claims UserId (or sub), AppId (default "default"), DeviceId, Role, exp. The event ' +
          'stream also takes `?access_token=<jwt>`. Expired: 401 with code 499.',
      })
      .addSecurity('qiniu', {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description: QINIU_SCHEME_DESCRIPTION,
      })
      .build(),
  );
  describeDocsRoutes(document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customJsStr: SWAGGER_UI_SCRIPT,
    // Generic in @nestjs/swagger's typings; on the Fastify adapter it is Fastify's request.
    patchDocumentOnRequest: <R>(request: R, _: unknown, served: OpenAPIObject) => ({
      ...served,
      servers: [serverFor(request as FastifyRequest)],
    }),
    swaggerOptions: {
      persistAuthorization: true,
      // @nestjs/swagger writes functions into the page's init script with Function#toString,
      // so this one is built from source text: a compiled, or coverage-instrumented, function
      // of this file would not be the code the page needs.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above
      requestInterceptor: new Function(
        'request',
        'return window.relaySwaggerUi.interceptRequest(request);',
      ),
    },
  });
}

/**
 * Swagger serves the document and its UI itself, outside Nest's routes; they are listed here so
 * that the document describes every path the service answers.
 */
function describeDocsRoutes(document: OpenAPIObject): void {
  document.paths['/docs'] = {
    get: {
      operationId: 'Docs_ui',
      summary: 'Swagger UI',
      description:
        'This API in Swagger UI, to read and try out: authorize `bearer` with a client token or ' +
        '`qiniu` with `<AccessKey>:<SecretKey>`. No authentication to open it.',
      tags: ['operations'],
      responses: {
        200: {
          description: 'the Swagger UI page',
          headers: ANSWER_HEADERS,
          content: { 'text/html': { schema: { type: 'string' } } },
        },
        ...httpLayerResponses(),
      },
    },
  };
  document.paths['/docs-json'] = {
    get: {
      operationId: 'Docs_json',
      summary: 'This OpenAPI 3 document (not in the envelope)',
      description:
        'This document, for code generators, contract tests and Swagger UI: every operation ' +
        'with its parameters, bodies, answers and error codes. No authentication.',
      tags: ['operations'],
      responses: {
        200: {
          description: 'the OpenAPI document',
          headers: ANSWER_HEADERS,
          content: {
            'application/json': {
              schema: { type: 'object', required: ['openapi', 'info', 'paths', 'components'] },
            },
          },
        },
        ...httpLayerResponses(),
      },
    },
  };
}
