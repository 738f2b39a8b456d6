import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { IDENTIFIER_PATTERN } from '../common/identifier';
import { ClientUser, DEFAULT_APP_ID } from './client-user';
import { VerifiedTokens } from './verified-tokens';

interface ClientClaims {
  UserId?: unknown;
  sub?: unknown;
  AppId?: unknown;
  DeviceId?: unknown;
  Role?: unknown;
  exp?: unknown;
}

/** Thrown from validate() for a token whose signature is fine but whose claims are not. */
export class BadClaims extends Error {}

/** `Authorization: Bearer <jwt>`, or the bare `<jwt>` that the original clients send. */
export function tokenFromHeader(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length === 0) return null;
  const bearer = /^bearer\s+/i.exec(header);
  return bearer ? header.slice(bearer[0].length).trim() : header.trim();
}

/** The header token, else `?access_token=`; only the event stream accepts the latter. */
export function tokenFromHeaderOrQuery(request: FastifyRequest): string | null {
  const fromHeader = tokenFromHeader(request);
  if (fromHeader !== null) return fromHeader;
  const query = request.query as { access_token?: unknown } | undefined;
  return typeof query?.access_token === 'string' && query.access_token.length > 0
    ? query.access_token
    : null;
}

/** Thrown for a token whose header asks for something this service does not do. */
export class RefusedHeader extends Error {}

/**
 * Whether the JOSE header has a `crit` member. The header is only parsed when its text holds
 * the word: the verifier decodes it again anyway, and refuses one that is not a JSON object.
 */
function hasCrit(token: string): boolean {
  const dot = token.indexOf('.');
  const text = Buffer.from(dot < 0 ? token : token.slice(0, dot), 'base64url').toString();
  if (!text.includes('crit')) return false;
  try {
    const header: unknown = JSON.parse(text);
    return typeof header === 'object' && header !== null && 'crit' in header;
  } catch {
    return false;
  }
}

/** Whether `key` made the token's HS256 signature, so that only that key is handed to the verifier. */
function signedWith(token: string, key: KeyObject): boolean {
  const [header, payload, signature] = token.split('.');
  if (signature === undefined) return false;
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Which secret verifies a token. RFC 7515 (4.1.11) says a token whose `crit` header names
 * extensions the recipient does not understand must be refused, and this service understands
 * none. With previous secrets (a rotation), the one that made the signature is found by one HMAC
 * per secret, the current one first, so tokens of the current secret cost one HMAC more, and a
 * service not rotating pays nothing.
 */
function secretFor(config: AppConfig) {
  // KeyObjects, not strings: jsonwebtoken re-derives a key from a string secret on every
  // verification, which was the largest single cost of a request in measurements.
  // (passport-jwt's types predate KeyObject; jsonwebtoken 9 takes it as it is.)
  const current = createSecretKey(Buffer.from(config.jwtSecret));
  const previous = config.jwtPreviousSecrets.map((secret) => createSecretKey(Buffer.from(secret)));
  return (
    _request: FastifyRequest,
    token: string,
    done: (error: Error | null, key?: Buffer) => void,
  ): void => {
    if (hasCrit(token)) {
      done(new RefusedHeader('token has a crit header'));
      return;
    }
    const key =
      previous.length === 0 || signedWith(token, current)
        ? current
        : (previous.find((candidate) => signedWith(token, candidate)) ?? current);
    done(null, key as unknown as Buffer);
  };
}

function strategyOptions(
  config: AppConfig,
  jwtFromRequest: (request: FastifyRequest) => string | null,
) {
  return {
    jwtFromRequest,
    secretOrKeyProvider: secretFor(config),
    algorithms: ['HS256'] as 'HS256'[],
    ignoreExpiration: false,
    passReqToCallback: true as const,
  };
}

function toClientUser(request: FastifyRequest, claims: ClientClaims): ClientUser {
  const userId = claims.UserId ?? claims.sub;
  if (typeof userId !== 'string' || !IDENTIFIER_PATTERN.test(userId)) {
    throw new BadClaims('token has no valid UserId');
  }
  if (typeof claims.exp !== 'number') throw new BadClaims('token has no exp claim');
  const appId = claims.AppId ?? DEFAULT_APP_ID;
  if (typeof appId !== 'string' || !IDENTIFIER_PATTERN.test(appId)) {
    throw new BadClaims('token has an invalid AppId');
  }
  return {
    requestId: request.id,
    trace: request.trace,
    userId,
    appId,
    deviceId: typeof claims.DeviceId === 'string' ? claims.DeviceId : '',
    role: typeof claims.Role === 'string' ? claims.Role : '',
  };
}

/**
 * Passport's JWT check, with the tokens it verified remembered (VerifiedTokens): a request whose
 * token was verified before and has not expired is let through with those claims; any other
 * goes through passport-jwt as always, and its claims are remembered once they are valid.
 */
function rememberingStrategy(name: string, tokenOf: (request: FastifyRequest) => string | null) {
  class Remembering extends PassportStrategy(Strategy, name) {
    private readonly verified = new VerifiedTokens<ClientClaims>();

    constructor(config: AppConfig) {
      super(strategyOptions(config, tokenOf));
    }

    // passport's types say Express; under Fastify it hands over the Fastify request.
    override authenticate(request: Parameters<Strategy['authenticate']>[0], options?: object) {
      const fastifyRequest = request as unknown as FastifyRequest;
      const token = tokenOf(fastifyRequest);
      const claims = token === null ? undefined : this.verified.get(token, Date.now());
      if (claims === undefined) return super.authenticate(request, options);
      this.success(toClientUser(fastifyRequest, claims));
    }

    validate(request: FastifyRequest, claims: ClientClaims): ClientUser {
      const user = toClientUser(request, claims);
      const token = tokenOf(request);
      if (token !== null) this.verified.remember(token, claims);
      return user;
    }
  }
  return Remembering;
}

@Injectable()
export class JwtStrategy extends rememberingStrategy('jwt', tokenFromHeader) {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(config);
  }
}

@Injectable()
export class JwtStreamStrategy extends rememberingStrategy('jwt-stream', tokenFromHeaderOrQuery) {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(config);
  }
}
