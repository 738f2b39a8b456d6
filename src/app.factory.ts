import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyReply, FastifyRequest } from 'fastify';
import { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { toErrorAnswer } from './common/envelope';
import { ErrorFilter } from './common/error.filter';
import { identityOf } from './common/request-identity';
import { trustRule } from './common/forwarded';
import { answerClientError, BODY_LIMIT, requestIdFrom, setUpHttp } from './common/http.setup';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app.config';
import { createLogger, PinoNestLogger } from './observability/logger';
import { Metrics } from './observability/metrics.service';
import { setUpSwagger } from './openapi/swagger.setup';

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
    // Forwarded and X-Forwarded-* are read by setUpHttp (src/common/forwarded.ts), which also
    // knows RFC 7239 and prefixes; Fastify's own reading stays off so that there is one answer.
    genReqId: requestIdFrom(config.requestIdHeader),
    // Long or badly encoded path parameters must reach our validation and answer 400 in the
    // envelope, not Fastify's own 414 / error shape.
    routerOptions: { maxParamLength: 1024 },
    // Requests Node's parser refuses answer in the envelope too.
    clientErrorHandler: answerClientError,
    // A request whose body stops short without the client closing would otherwise hold its
    // connection for ever; it is answered through answerClientError. Node only enforces
    // requestTimeout when headersTimeout is no longer, and checks both every
    // connectionsCheckingInterval.
    requestTimeout: 30_000,
    http: {
      headersTimeout: 30_000,
      connectionsCheckingInterval: 5_000,
      // Node answers a missing Host with an empty 400; setUpHttp refuses it in the envelope.
      requireHostHeader: false,
    },
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toErrorAnswer(error, identityOf(request));
      void reply.status(status).header('x-request-id', body.request_id).send(body);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(logger),
  });
  setUpHttp(
    app.getHttpAdapter().getInstance(),
    logger,
    app.get(Metrics),
    trustRule(config.trustProxy),
  );
  if (config.corsOrigins === '*' || config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins === '*' ? true : config.corsOrigins,
      exposedHeaders: [
        'x-request-id',
        'traceparent',
        'retry-after',
        'ratelimit',
        'ratelimit-policy',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
      ],
      maxAge: 600,
    });
  }
  app.useGlobalFilters(new ErrorFilter());
  app.useGlobalPipes(createValidationPipe());

  setUpSwagger(app, config);
  await app.init();
  return app;
}
