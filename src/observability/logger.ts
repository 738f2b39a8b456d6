import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { requestContext } from './request-context';

/**
 * Anything that could carry a credential is cut out of log lines, wherever it is nested:
 * tokens travel in Authorization headers, in ?access_token= and in answers (relay_token).
 */
const REDACT = [
  'authorization',
  'access_token',
  'relay_token',
  'token',
  'secret',
  'password',
  '*.authorization',
  '*.access_token',
  '*.relay_token',
  '*.token',
  '*.secret',
  '*.password',
  '*.headers.authorization',
];

/** JSON lines; each line of a request also carries its request_id, user_id and app_id. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
      mixin: () => ({ ...requestContext.getStore() }),
    },
    destination,
  );
}

/** Nest's start-up chatter (every module and route) is debug, not info. */
const CHATTY = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/** Nest's logger interface over pino, so framework and application logs share one format. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    if (context !== undefined && CHATTY.has(context))
      this.logger.debug({ context }, String(message));
    else this.logger.info({ context }, String(message));
  }

  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }

  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }

  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }

  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }

  fatal(message: unknown, context?: string): void {
    this.logger.fatal({ context }, String(message));
  }
}
