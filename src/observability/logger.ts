import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';

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

/**
 * JSON lines. A line written for a request carries its request_id, user_id and app_id: the code
 * that writes it passes identityFields(who) among the parameters (see PinoNestLogger).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    destination,
  );
}

/** Nest's start-up chatter (every module and route) is debug, not info. */
const CHATTY = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/**
 * Nest's logger interface over pino, so framework and application logs share one format. Nest
 * hands over the caller's parameters, then the logger's context as the last one; a plain object
 * among them is merged into the line (the identity of a request), a string is a stack trace.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    const line = fieldsOf(params);
    if (typeof line.context === 'string' && CHATTY.has(line.context)) {
      this.logger.debug(line, String(message));
    } else this.logger.info(line, String(message));
  }

  /** `error(message, trace)` without a context is Nest's own form for a stack. */
  error(message: unknown, ...params: unknown[]): void {
    this.logger.error(fieldsOf(params, params.length > 1), String(message));
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.logger.warn(fieldsOf(params), String(message));
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.logger.debug(fieldsOf(params), String(message));
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.logger.trace(fieldsOf(params), String(message));
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.logger.fatal(fieldsOf(params), String(message));
  }
}

function fieldsOf(params: unknown[], endsWithContext = true): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  const last = endsWithContext ? params.length - 1 : -1;
  params.forEach((param, i) => {
    if (typeof param === 'object' && param !== null) Object.assign(line, param);
    else if (typeof param === 'string') line[i === last ? 'context' : 'trace'] = param;
  });
  return line;
}
