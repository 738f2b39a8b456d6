import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from '@fastify/helmet';
import { FastifyReply, FastifyRequest } from 'fastify';
import { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { toErrorAnswer } from './common/envelope';
import { ErrorFilter } from './common/error.filter';
import { BODY_LIMIT, requestIdOf, setUpHttp } from './common/http.setup';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app.config';
import { createLogger, PinoNestLogger } from './observability/logger';
import { Metrics } from './observability/metrics.service';

export interface AppOptions {
  /** Where the JSON log lines go; standard output by default. */
  logDestination?: DestinationStream;
}

/** Builds the whole application; main.ts and the e2e suite both start it through here. */
export async function createApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  process.env.TZ = config.timeZone;
  const logger = createLogger(config.logLevel, options.logDestination);
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    genReqId: requestIdOf,
    // Long or badly encoded path parameters must reach our validation and answer 400 in the
    // envelope, not Fastify's own 414 / error shape.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toErrorAnswer(error, requestIdOf(request.raw));
      void reply.status(status).header('x-request-id', body.request_id).send(body);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(logger),
  });
  setUpHttp(app.getHttpAdapter().getInstance(), logger, app.get(Metrics));
  // Security headers for an API; Swagger UI's inline scripts rule out a content security policy.
  await app.register(helmet, {
    contentSecurityPolicy: false,
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  if (config.corsOrigins === '*' || config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins === '*' ? true : config.corsOrigins,
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining'],
      maxAge: 600,
    });
  }
  app.useGlobalFilters(new ErrorFilter());
  app.useGlobalPipes(createValidationPipe());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Cross-room relay')
      .setDescription(
        'Co-host / PK relays between live rooms. Every JSON answer is the envelope ' +
          '{request_id, code, message, data}: code 0 and `data` on success (left out when there ' +
          'is nothing to return), an error code and no `data` otherwise. The X-Request-Id header ' +
          'carries the same request id. Authorize with a client JWT (npm run token -- --user alice).',
      )
      .setVersion('1.0')
      .addTag('rooms', 'Live rooms (client API, client JWT)')
      .addTag('relay', 'Relay sessions and their event stream (client API, client JWT)')
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
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await app.init();
  return app;
}

const QINIU_SCHEME_DESCRIPTION = [
  'Server API: `Authorization: Qiniu <AccessKey>:<sign>`, the Qiniu MAC signature of the request',
  "(the same as Qiniu's SDKs make: `Credentials.generateAccessToken`, `util.generateAccessTokenV2`).",
  '`sign` is the URL-safe base64 of HMAC-SHA1(SecretKey, signing string), where the signing string is',
  '',
  '    <METHOD> <path>[?<raw query>]\\nHost: <Host header as received>[\\nContent-Type: <content type>]',
  '    [\\n<X-Qiniu-* headers, "Name: value", sorted by name>]\\n\\n[<raw body>]',
  '',
  'The body is included only when there is a Content-Type other than `application/octet-stream`;',
  '`X-Qiniu-*` header names are written in canonical form (`X-Qiniu-Date`). The keys are',
  'SERVER_ACCESS_KEY and SERVER_SECRET_KEY. A missing or wrong signature is 401 with code 401.',
].join('\n');

/**
 * Swagger serves the document and its UI itself, outside Nest's routes; they are listed here so
 * that the document describes every path the service answers.
 */
function describeDocsRoutes(document: OpenAPIObject): void {
  document.paths['/docs'] = {
    get: {
      operationId: 'Docs_ui',
      summary: 'Swagger UI',
      tags: ['operations'],
      responses: {
        200: {
          description: 'the Swagger UI page',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
  };
  document.paths['/docs-json'] = {
    get: {
      operationId: 'Docs_json',
      summary: 'This OpenAPI 3 document (not in the envelope)',
      tags: ['operations'],
      responses: {
        200: {
          description: 'the OpenAPI document',
          content: {
            'application/json': {
              schema: { type: 'object', required: ['openapi', 'info', 'paths', 'components'] },
            },
          },
        },
      },
    },
  };
}
