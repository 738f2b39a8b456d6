import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { DomainError, ErrorCode } from '../common/domain.error';
import { verifyQiniuMac } from './qiniu-mac';

/** Server API guard: the customer's backend signs each request with its AccessKey/SecretKey. */
@Injectable()
export class QiniuMacGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const authorization = request.headers.authorization;
    if (!authorization) {
      throw new DomainError(
        ErrorCode.Unauthorized,
        'missing Authorization: Qiniu <AccessKey>:<sign>',
      );
    }
    const verified = verifyQiniuMac(
      authorization,
      {
        method: request.method,
        url: request.raw.url ?? request.url,
        host: request.headers.host ?? '',
        contentType: request.headers['content-type'],
        headers: request.headers,
        body: request.rawBody ?? '',
      },
      this.config.serverAccessKey,
      this.config.serverSecretKey,
    );
    if (!verified) throw new DomainError(ErrorCode.Unauthorized, 'invalid Qiniu signature');
    return true;
  }
}
