import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  validateSync,
} from 'class-validator';
import { EVENT_TYPES, EventType } from '../common/event-type';
import { badTrustEntries, TrustProxy } from '../common/forwarded';

/**
 * Development keys let `npm start` work with no configuration at all. They are public (they
 * are in this file), so production refuses every one of them.
 */
export const DEV_KEYS = {
  JWT_SECRET: 'dev-only-jwt-secret-do-not-use-in-production',
  SERVER_ACCESS_KEY: 'dev-server-access-key',
  SERVER_SECRET_KEY: 'dev-server-secret-key',
  QINIU_ACCESS_KEY: 'dev-qiniu-access-key',
  QINIU_SECRET_KEY: 'dev-qiniu-secret-key',
  QINIU_RTC_APP_ID: 'dev-rtc-app',
  WEBHOOK_SECRET: 'dev-webhook-secret',
} as const;

type DevKeyName = keyof typeof DEV_KEYS;

export interface ServerKey {
  accessKey: string;
  secretKey: string;
}

const INT = /^-?\d+$/;

/** Raw environment, as strings; numbers are converted by class-transformer before checks. */
class Env {
  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  @Matches(/^((mysql|mariadb):\/\/.+|sqlite:.+)$/, {
    message: 'must be mysql://user:password@host:port/database, mariadb://... or sqlite:<file>',
  })
  DATABASE_URL = 'sqlite:data/relay.db';

  @IsIn(['true', 'false'])
  DB_MIGRATE = 'true';

  @IsString()
  @MinLength(16)
  JWT_SECRET: string = DEV_KEYS.JWT_SECRET;

  @IsString()
  JWT_PREVIOUS_SECRETS = '';

  @IsString()
  @MinLength(1)
  SERVER_ACCESS_KEY: string = DEV_KEYS.SERVER_ACCESS_KEY;

  @IsString()
  @MinLength(8)
  SERVER_SECRET_KEY: string = DEV_KEYS.SERVER_SECRET_KEY;

  @IsString()
  SERVER_PREVIOUS_KEYS = '';

  @IsString()
  @MinLength(1)
  QINIU_ACCESS_KEY: string = DEV_KEYS.QINIU_ACCESS_KEY;

  @IsString()
  @MinLength(8)
  QINIU_SECRET_KEY: string = DEV_KEYS.QINIU_SECRET_KEY;

  @IsString()
  @MinLength(1)
  @MaxLength(128)
  QINIU_RTC_APP_ID: string = DEV_KEYS.QINIU_RTC_APP_ID;

  @IsInt()
  @Min(60)
  @Max(30 * 86400)
  RELAY_TOKEN_TTL_S = 3600;

  @IsIn(['auto', 'invite'])
  RELAY_DEFAULT_MODE = 'auto';

  @IsInt()
  @Min(0)
  @Max(86400)
  RELAY_INVITE_TIMEOUT_S = 30;

  @IsInt()
  @Min(0)
  @Max(86400)
  RELAY_JOIN_TIMEOUT_S = 60;

  @IsInt()
  @Min(0)
  @Max(86400)
  ROOM_HEARTBEAT_TIMEOUT_S = 60;

  @IsInt()
  @Min(10)
  @Max(3600)
  BATTLE_DURATION_S = 300;

  @IsInt()
  @Min(0)
  @Max(60)
  BATTLE_COUNTDOWN_S = 3;

  @IsInt()
  @Min(0)
  @Max(600)
  BATTLE_PUNISHMENT_S = 0;

  @IsInt()
  @Min(1)
  @Max(600)
  BATTLE_INVITE_TIMEOUT_S = 10;

  @IsInt()
  @Min(5)
  @Max(600)
  MATCH_TIMEOUT_S = 60;

  @IsInt()
  @Min(50)
  @Max(10000)
  TIMER_INTERVAL_MS = 500;

  @IsString()
  WEBHOOK_URLS = '';

  @IsString()
  @MinLength(8)
  WEBHOOK_SECRET: string = DEV_KEYS.WEBHOOK_SECRET;

  @IsString()
  @ValidateIf((env: Env) => env.WEBHOOK_PREVIOUS_SECRET !== '')
  @MinLength(8)
  WEBHOOK_PREVIOUS_SECRET = '';

  @IsString()
  WEBHOOK_EVENT_TYPES = '';

  @IsInt()
  @Min(1)
  @Max(100)
  WEBHOOK_MAX_ATTEMPTS = 10;

  @IsInt()
  @Min(24)
  @Max(24 * 3650)
  EVENT_RETENTION_HOURS = 168;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Matches(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/, {
    message: 'must be true, false, a number of proxy hops, or a list of proxy IPs/CIDRs',
  })
  TRUST_PROXY = 'false';

  @Matches(/^[A-Za-z0-9-]{1,64}$/, {
    message: 'REQUEST_ID_HEADER must be a header name (letters, digits and -)',
  })
  REQUEST_ID_HEADER = 'x-request-id';

  @IsInt()
  @Min(1)
  @Max(300)
  STREAM_KEEPALIVE_S = 15;

  @IsString()
  CORS_ORIGINS = '';

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PER_MINUTE = 0;

  @IsString()
  TZ = 'UTC';
}

export interface AppConfig {
  production: boolean;
  port: number;
  /** The URL's scheme: TypeORM's driver when the server cannot be asked which one it is. */
  database:
    { kind: 'mysql'; url: string; flavour: 'mysql' | 'mariadb' } | { kind: 'sqlite'; file: string };
  migrate: boolean;
  jwtSecret: string;
  /** Secrets still accepted when verifying client tokens, while clients move to JWT_SECRET. */
  jwtPreviousSecrets: string[];
  serverAccessKey: string;
  serverSecretKey: string;
  /** Key pairs accepted on the server API besides the current one, while backends move over. */
  serverPreviousKeys: ServerKey[];
  qiniu: { accessKey: string; secretKey: string; rtcAppId: string };
  relay: {
    tokenTtlS: number;
    defaultMode: 'auto' | 'invite';
    inviteTimeoutS: number;
    joinTimeoutS: number;
  };
  /** Seconds without a heartbeat before a live room is stopped; 0 disables. */
  roomHeartbeatTimeoutS: number;
  /** A battle's phases when its start names none, and how long its invitation waits (s). */
  battle: { durationS: number; countdownS: number; punishmentS: number; inviteTimeoutS: number };
  /** How long a matchmaking ticket waits when its request names no timeout (s). */
  match: { timeoutS: number };
  /** How often each node looks for due timers; well under the 2 s the contract allows. */
  timerIntervalMs: number;
  webhook: {
    urls: string[];
    secret: string;
    /** While set, every POST is signed with it too, so receivers can switch at their pace. */
    previousSecret: string | null;
    /** The event types that are POSTed; every type by default. */
    eventTypes: EventType[];
    maxAttempts: number;
  };
  /** Events older than this are deleted, with their finished deliveries. */
  eventRetentionHours: number;
  logLevel: string;
  /** Whom to believe about Forwarded and X-Forwarded-* (src/common/forwarded.ts). */
  trustProxy: TrustProxy;
  /** The request header whose id, when a gateway sends one, becomes the request's id (lower case). */
  requestIdHeader: string;
  /** Seconds between the keep-alive comments of event streams. */
  streamKeepAliveS: number;
  /** Browser origins allowed by CORS: none (off), every one ('*'), or a list. */
  corsOrigins: '*' | string[];
  /** Client API requests per user per minute on each node; 0 turns the limit off. */
  rateLimitPerMinute: number;
  timeZone: string;
  /** Names of the settings that fell back to a development key; logged at startup. */
  devKeysInUse: DevKeyName[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function listOf(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function parseTrustProxy(value: string): TrustProxy {
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d+$/.test(value)) return Number(value);
  return listOf(value);
}

function isWebhookUrl(url: string): boolean {
  if (url.length > 512) return false;
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * The keys still accepted while clients and backends move to new ones. Problems name an entry by
 * its position, never by its value: a message must not leak a secret into a log.
 */
function previousKeys(
  env: Env,
  production: boolean,
  webhooks: boolean,
): { jwt: string[]; server: ServerKey[]; problems: string[] } {
  const problems: string[] = [];
  const jwt = listOf(env.JWT_PREVIOUS_SECRETS);
  jwt.forEach((secret, i) => {
    if (secret.length < 16)
      problems.push(`JWT_PREVIOUS_SECRETS: secret ${i + 1} is shorter than 16 characters`);
  });
  const server: ServerKey[] = [];
  listOf(env.SERVER_PREVIOUS_KEYS).forEach((pair, i) => {
    const colon = pair.indexOf(':');
    const key = { accessKey: pair.slice(0, colon), secretKey: pair.slice(colon + 1) };
    if (colon < 1 || key.secretKey.length < 8) {
      problems.push(
        `SERVER_PREVIOUS_KEYS: entry ${i + 1} is not <AccessKey>:<SecretKey> with a secret key of at least 8 characters`,
      );
    } else server.push(key);
  });
  if (production) {
    if (jwt.includes(DEV_KEYS.JWT_SECRET))
      problems.push(
        'JWT_PREVIOUS_SECRETS: must not list the development key when NODE_ENV=production',
      );
    if (server.some((k) => k.secretKey === DEV_KEYS.SERVER_SECRET_KEY))
      problems.push(
        'SERVER_PREVIOUS_KEYS: must not list the development key when NODE_ENV=production',
      );
    if (webhooks && env.WEBHOOK_PREVIOUS_SECRET === DEV_KEYS.WEBHOOK_SECRET)
      problems.push(
        'WEBHOOK_PREVIOUS_SECRET: must not be the development key when NODE_ENV=production',
      );
  }
  return { jwt, server, problems };
}

function webhookEventTypes(value: string): { types: EventType[]; problems: string[] } {
  const listed = [...new Set(listOf(value))];
  if (listed.length === 0) return { types: [...EVENT_TYPES], problems: [] };
  const unknown = listed.filter((type) => !(EVENT_TYPES as readonly string[]).includes(type));
  return {
    types: EVENT_TYPES.filter((type) => listed.includes(type)),
    problems: unknown.map(
      (type) =>
        `WEBHOOK_EVENT_TYPES: unknown event type "${type}" (known: ${EVENT_TYPES.join(', ')})`,
    ),
  };
}

/**
 * CORS compares the browser's Origin header with each entry as text, so an entry that is not
 * exactly an origin (a trailing slash, a path, no scheme) would silently never match: refused
 * at start instead. `*` stands alone.
 */
export function corsProblems(value: string): string[] {
  const listed = listOf(value);
  if (listed.length === 1 && listed[0] === '*') return [];
  return listed.flatMap((entry) => {
    if (entry === '*')
      return ['CORS_ORIGINS: * allows every origin and cannot be listed with others'];
    let origin = '';
    try {
      const url = new URL(entry);
      if (['http:', 'https:'].includes(url.protocol)) origin = url.origin;
    } catch {
      origin = '';
    }
    return origin === entry
      ? []
      : [
          `CORS_ORIGINS: "${entry}" is not an origin such as https://app.example.com (scheme, host, optional port; no path, no trailing slash)`,
        ];
  });
}

/** Validates every variable at once, so one start tells the operator all that is wrong. */
export function loadConfig(source: NodeJS.ProcessEnv): AppConfig {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of [...Object.keys(new Env()), 'NODE_ENV']) {
    const value = source[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const numeric = [
    'PORT',
    'RELAY_TOKEN_TTL_S',
    'RELAY_INVITE_TIMEOUT_S',
    'RELAY_JOIN_TIMEOUT_S',
    'ROOM_HEARTBEAT_TIMEOUT_S',
    'BATTLE_DURATION_S',
    'BATTLE_COUNTDOWN_S',
    'BATTLE_PUNISHMENT_S',
    'BATTLE_INVITE_TIMEOUT_S',
    'MATCH_TIMEOUT_S',
    'TIMER_INTERVAL_MS',
    'WEBHOOK_MAX_ATTEMPTS',
    'EVENT_RETENTION_HOURS',
    'RATE_LIMIT_PER_MINUTE',
    'STREAM_KEEPALIVE_S',
  ] as const;
  for (const key of numeric) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value === 'string' && INT.test(value.trim())) raw[key] = Number(value.trim());
    else problems.push(`${key}: must be an integer (got "${value as string}")`);
  }
  const env = plainToInstance(Env, raw);
  for (const error of validateSync(env)) {
    if (problems.some((p) => p.startsWith(`${error.property}: `))) continue;
    // class-validator starts its messages with the name; every line here starts with it once.
    const messages = Object.values(error.constraints ?? {}).map((m) =>
      m.startsWith(`${error.property} `) ? m.slice(error.property.length + 1) : m,
    );
    problems.push(`${error.property}: ${messages.join('; ')}`);
  }
  if (!isTimeZone(env.TZ)) problems.push(`TZ: "${env.TZ}" is not a known time zone`);
  // A URL listed twice still gets each event once.
  const webhookUrls = [...new Set(listOf(env.WEBHOOK_URLS))];
  for (const url of webhookUrls) {
    if (!isWebhookUrl(url))
      problems.push(`WEBHOOK_URLS: "${url}" is not an http(s) URL of at most 512 characters`);
  }

  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  // A value of the wrong form is already one problem; its entries are checked only once it has the form.
  if (Array.isArray(trustProxy) && !problems.some((p) => p.startsWith('TRUST_PROXY:'))) {
    for (const entry of badTrustEntries(trustProxy))
      problems.push(`TRUST_PROXY: "${entry}" is not an IP address or CIDR range`);
  }
  problems.push(...corsProblems(env.CORS_ORIGINS));

  const production = env.NODE_ENV === 'production';
  const rotation = previousKeys(env, production, webhookUrls.length > 0);
  problems.push(...rotation.problems);
  const eventTypes = webhookEventTypes(env.WEBHOOK_EVENT_TYPES);
  problems.push(...eventTypes.problems);
  // The webhook secret only matters, and is only refused in production, when webhooks are sent.
  const devKeysInUse = (Object.keys(DEV_KEYS) as DevKeyName[]).filter(
    (name) => env[name] === DEV_KEYS[name] && (name !== 'WEBHOOK_SECRET' || webhookUrls.length > 0),
  );
  if (production) {
    for (const name of devKeysInUse) {
      problems.push(`${name}: must be set to a real key when NODE_ENV=production`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const url = env.DATABASE_URL;
  return {
    production,
    port: env.PORT,
    database: url.startsWith('sqlite:')
      ? { kind: 'sqlite', file: url.slice('sqlite:'.length) }
      : { kind: 'mysql', url, flavour: url.startsWith('mariadb://') ? 'mariadb' : 'mysql' },
    migrate: env.DB_MIGRATE === 'true',
    jwtSecret: env.JWT_SECRET,
    jwtPreviousSecrets: rotation.jwt,
    serverAccessKey: env.SERVER_ACCESS_KEY,
    serverSecretKey: env.SERVER_SECRET_KEY,
    serverPreviousKeys: rotation.server,
    qiniu: {
      accessKey: env.QINIU_ACCESS_KEY,
      secretKey: env.QINIU_SECRET_KEY,
      rtcAppId: env.QINIU_RTC_APP_ID,
    },
    relay: {
      tokenTtlS: env.RELAY_TOKEN_TTL_S,
      defaultMode: env.RELAY_DEFAULT_MODE as 'auto' | 'invite',
      inviteTimeoutS: env.RELAY_INVITE_TIMEOUT_S,
      joinTimeoutS: env.RELAY_JOIN_TIMEOUT_S,
    },
    roomHeartbeatTimeoutS: env.ROOM_HEARTBEAT_TIMEOUT_S,
    battle: {
      durationS: env.BATTLE_DURATION_S,
      countdownS: env.BATTLE_COUNTDOWN_S,
      punishmentS: env.BATTLE_PUNISHMENT_S,
      inviteTimeoutS: env.BATTLE_INVITE_TIMEOUT_S,
    },
    match: { timeoutS: env.MATCH_TIMEOUT_S },
    timerIntervalMs: env.TIMER_INTERVAL_MS,
    webhook: {
      urls: webhookUrls,
      secret: env.WEBHOOK_SECRET,
      previousSecret: env.WEBHOOK_PREVIOUS_SECRET === '' ? null : env.WEBHOOK_PREVIOUS_SECRET,
      eventTypes: eventTypes.types,
      maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    },
    eventRetentionHours: env.EVENT_RETENTION_HOURS,
    logLevel: env.LOG_LEVEL,
    trustProxy,
    requestIdHeader: env.REQUEST_ID_HEADER.toLowerCase(),
    streamKeepAliveS: env.STREAM_KEEPALIVE_S,
    corsOrigins: env.CORS_ORIGINS.trim() === '*' ? '*' : listOf(env.CORS_ORIGINS),
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    timeZone: env.TZ,
    devKeysInUse,
  };
}

/** For the command-line tools: the configuration, or every problem on stderr and exit 1. */
export function loadConfigOrExit(source: NodeJS.ProcessEnv): AppConfig {
  try {
    return loadConfig(source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/** Injection token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');
