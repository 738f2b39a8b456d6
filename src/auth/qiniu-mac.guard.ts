import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig, ServerKey } from '../config/app.config';
import { DomainError, ErrorCode } from '../common/domain.error';
import { qiniuDateProblem, SignedRequest, signedViews, verifyQiniuMac } from './qiniu-mac';

/** Server API guard: the customer's backend signs each request with its AccessKey/SecretKey. */
@Injectable()
export class QiniuMacGuard implements CanActivate {
  /** The current pair first: during a rotation most requests already use it. */
  private readonly keys: ServerKey[];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.keys = [
      { accessKey: config.serverAccessKey, secretKey: config.serverSecretKey },
      ...config.serverPreviousKeys,
    ];
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const authorization = request.headers.authorization;
    if (!authorization) {
      throw new DomainError(
        ErrorCode.Unauthorized,
        'missing Authorization: Qiniu <AccessKey>:<sign>',
      );
    }
    const signed: SignedRequest = {
      method: request.method,
      url: request.raw.url ?? request.url,
      host: request.headers.host ?? '',
      contentType: request.headers['content-type'],
      headers: request.headers,
      body: request.rawBody ?? '',
    };
    const views = signedViews(signed, request.caller);
    const verified = this.keys.some((key) =>
      views.some((view) => verifyQiniuMac(authorization, view, key.accessKey, key.secretKey)),
    );
    if (!verified) throw new DomainError(ErrorCode.Unauthorized, 'invalid Qiniu signature');
    const dateProblem = qiniuDateProblem(request.headers, this.clock.now());
    if (dateProblem !== null) throw new DomainError(ErrorCode.Unauthorized, dateProblem);
    return true;
  }
}
