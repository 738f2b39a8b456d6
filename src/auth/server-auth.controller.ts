import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import {
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Matches, MaxLength } from 'class-validator';
import { ApiEnvelope, SERVER_ERRORS } from '../common/api-envelope.decorator';
import { Clock } from '../common/clock';
import { badRequest } from '../common/domain.error';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { DEFAULT_APP_ID } from './client-user';
import { signClientToken } from './client-token';
import { QiniuMacGuard } from './qiniu-mac.guard';
import { Optional } from '../common/validation';
import { CleanText } from '../common/text';

const DAY_S = 86400;

export class IssueTokenQuery {
  @ApiPropertyOptional({ example: 'default', pattern: IDENTIFIER_PATTERN.source })
  @Optional()
  @Matches(IDENTIFIER_PATTERN, {
    message: 'app_id must be 1-64 characters of letters, digits, _ . : -',
  })
  app_id?: string;

  @ApiProperty({ example: 'alice', pattern: IDENTIFIER_PATTERN.source })
  @Matches(IDENTIFIER_PATTERN, {
    message: 'user_id must be 1-64 characters of letters, digits, _ . : -',
  })
  user_id!: string;

  @ApiPropertyOptional({ example: 'ios-1', maxLength: 128 })
  @Optional()
  @MaxLength(128)
  @CleanText()
  device_id?: string;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'unix seconds; default 7 days ahead, at most 30 (more is 400)',
  })
  @Optional()
  @Type(() => Number)
  @IsInt()
  expires_at?: number;
}

export class IssuedTokenView {
  @ApiProperty({ description: 'the client JWT (HS256)', example: 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln' })
  access_token!: string;
  @ApiProperty({ type: 'integer', description: 'unix seconds', example: 1764687600 })
  expires_at!: number;
}

@ApiTags('server')
@ApiSecurity('qiniu')
@UseGuards(QiniuMacGuard)
@Controller('server/auth')
export class ServerAuthController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  @Get('token')
  @ApiOperation({
    summary: 'Issue a client token for one of your users',
    description:
      'Your backend gets a client JWT (HS256, signed with JWT_SECRET) for `user_id` of `app_id` ' +
      '(default `default`), valid until `expires_at` (default 7 days ahead; past or more than ' +
      '30 days ahead is 400). 401 for a missing or wrong Qiniu signature.',
  })
  @ApiEnvelope(IssuedTokenView, SERVER_ERRORS)
  issue(@Query() query: IssueTokenQuery): IssuedTokenView {
    const now = Math.floor(this.clock.now() / 1000);
    const expiresAt = query.expires_at ?? now + 7 * DAY_S;
    if (expiresAt <= now) throw badRequest('expires_at must be in the future');
    if (expiresAt > now + 30 * DAY_S) throw badRequest('expires_at must be at most 30 days ahead');
    const access_token = signClientToken(this.config.jwtSecret, {
      appId: query.app_id ?? DEFAULT_APP_ID,
      userId: query.user_id,
      deviceId: query.device_id,
      expiresAt,
    });
    return { access_token, expires_at: expiresAt };
  }
}
