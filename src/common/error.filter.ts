import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { identityOf } from './request-identity';
import { isUnroutedError, toErrorAnswer } from './envelope';

@Catch()
export class ErrorFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (isUnroutedError(error)) {
      const allowed = request.server.allowedMethods(request.url);
      if (allowed.length > 0) {
        const message = `${request.method} is not allowed here; use ${allowed.join(', ')}`;
        void reply
          .status(405)
          .header('allow', allowed.join(', '))
          .send({ request_id: request.id, code: 405, message });
        return;
      }
    }
    const { status, body } = toErrorAnswer(error, identityOf(request));
    reply.status(status).send(body);
  }
}
