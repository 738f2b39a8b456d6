import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AppModule } from './app.module';
import { toErrorAnswer } from './common/envelope';
import { ErrorFilter } from './common/error.filter';
import { BODY_LIMIT, requestIdOf, setUpHttp } from './common/http.setup';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app.config';

/** Builds the whole application; main.ts and the e2e suite both start it through here. */
export async function createApp(
  config: AppConfig,
  logger: false | Logger = new Logger(),
): Promise<NestFastifyApplication> {
  process.env.TZ = config.timeZone;
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
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
    logger: logger === false ? false : ['log', 'warn', 'error'],
  });
  setUpHttp(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new ErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Cross-room relay')
      .setDescription(
        'Co-host / PK relays between live rooms. Every /client and /server answer is the envelope ' +
          '{request_id, code, message, data}. Authorize with a client JWT (npm run token -- --user alice).',
      )
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .addSecurity('qiniu', {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description:
          'Qiniu <AccessKey>:<sign>, the Qiniu MAC signature of the request (server API)',
      })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await app.init();
  return app;
}
