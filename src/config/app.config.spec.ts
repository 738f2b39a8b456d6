import { ConfigError, corsProblems, DEV_KEYS, loadConfig } from './app.config';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe(loadConfig.name, () => {
  it('starts with no configuration at all on SQLite, port 8080 and development keys', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      production: false,
      migrate: true,
      database: { kind: 'sqlite', file: 'data/relay.db' },
      jwtSecret: DEV_KEYS.JWT_SECRET,
      timeZone: 'UTC',
      relay: { tokenTtlS: 3600, defaultMode: 'auto', inviteTimeoutS: 30, joinTimeoutS: 60 },
    });
    expect(config.devKeysInUse).toEqual(
      Object.keys(DEV_KEYS).filter((k) => k !== 'WEBHOOK_SECRET'),
    );
    expect(config.webhook).toEqual({
      urls: [],
      secret: DEV_KEYS.WEBHOOK_SECRET,
      previousSecret: null,
      eventTypes: [
        'relay.status_changed',
        'relay.room_changed',
        'relay.extends_updated',
        'relay.score_changed',
        'relay.battle_changed',
      ],
      maxAttempts: 10,
    });
    expect(config).toMatchObject({
      jwtPreviousSecrets: [],
      serverPreviousKeys: [],
      eventRetentionHours: 168,
    });
  });

  it('reads the previous keys of a rotation', () => {
    const config = loadConfig({
      JWT_PREVIOUS_SECRETS: 'old-jwt-secret-number-one, old-jwt-secret-number-two',
      SERVER_PREVIOUS_KEYS: 'old-ak:old-secret-key,same-ak:sk:with:colons',
      WEBHOOK_PREVIOUS_SECRET: 'old-webhook-secret',
    });
    expect(config.jwtPreviousSecrets).toEqual([
      'old-jwt-secret-number-one',
      'old-jwt-secret-number-two',
    ]);
    expect(config.serverPreviousKeys).toEqual([
      { accessKey: 'old-ak', secretKey: 'old-secret-key' },
      { accessKey: 'same-ak', secretKey: 'sk:with:colons' },
    ]);
    expect(config.webhook.previousSecret).toBe('old-webhook-secret');
  });

  it('names each bad previous key by its position, never by its value', () => {
    const problems = problemsOf({
      JWT_PREVIOUS_SECRETS: 'long-enough-old-secret,short-one',
      SERVER_PREVIOUS_KEYS: 'ak:long-enough,no-colon-here,:secret-without-ak,ak2:short',
      WEBHOOK_PREVIOUS_SECRET: 'tiny',
    });
    expect(problems).toEqual([
      'WEBHOOK_PREVIOUS_SECRET: must be longer than or equal to 8 characters',
      'JWT_PREVIOUS_SECRETS: secret 2 is shorter than 16 characters',
      'SERVER_PREVIOUS_KEYS: entry 2 is not <AccessKey>:<SecretKey> with a secret key of at least 8 characters',
      'SERVER_PREVIOUS_KEYS: entry 3 is not <AccessKey>:<SecretKey> with a secret key of at least 8 characters',
      'SERVER_PREVIOUS_KEYS: entry 4 is not <AccessKey>:<SecretKey> with a secret key of at least 8 characters',
    ]);
    for (const secret of ['short-one', 'no-colon-here', 'secret-without-ak', 'tiny']) {
      expect(problems.join('\n')).not.toContain(secret);
    }
  });

  it('refuses development keys among the previous ones in production', () => {
    const real = {
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-secret-of-enough-length',
      SERVER_ACCESS_KEY: 'ak',
      SERVER_SECRET_KEY: 'server-secret',
      QINIU_ACCESS_KEY: 'qak',
      QINIU_SECRET_KEY: 'qiniu-secret',
      QINIU_RTC_APP_ID: 'app',
      WEBHOOK_URLS: 'https://hooks.example.com/relay',
      WEBHOOK_SECRET: 'a-real-webhook-secret',
    };
    expect(
      problemsOf({
        ...real,
        JWT_PREVIOUS_SECRETS: DEV_KEYS.JWT_SECRET,
        SERVER_PREVIOUS_KEYS: `${DEV_KEYS.SERVER_ACCESS_KEY}:${DEV_KEYS.SERVER_SECRET_KEY}`,
        WEBHOOK_PREVIOUS_SECRET: DEV_KEYS.WEBHOOK_SECRET,
      }).map((p) => p.split(':')[0]),
    ).toEqual(['JWT_PREVIOUS_SECRETS', 'SERVER_PREVIOUS_KEYS', 'WEBHOOK_PREVIOUS_SECRET']);
    expect(
      problemsOf({
        ...real,
        JWT_PREVIOUS_SECRETS: 'the-previous-real-secret',
        SERVER_PREVIOUS_KEYS: 'old-ak:old-server-secret',
        WEBHOOK_PREVIOUS_SECRET: 'the-previous-webhook-secret',
      }),
    ).toEqual([]);
  });

  it('POSTs the listed event types only, and refuses unknown ones', () => {
    expect(
      loadConfig({ WEBHOOK_EVENT_TYPES: ' relay.extends_updated ' }).webhook.eventTypes,
    ).toEqual(['relay.extends_updated']);
    expect(problemsOf({ WEBHOOK_EVENT_TYPES: 'relay.status_changed,relay.created,x' })).toEqual([
      'WEBHOOK_EVENT_TYPES: unknown event type "relay.created" (known: relay.status_changed, relay.room_changed, relay.extends_updated, relay.score_changed, relay.battle_changed)',
      'WEBHOOK_EVENT_TYPES: unknown event type "x" (known: relay.status_changed, relay.room_changed, relay.extends_updated, relay.score_changed, relay.battle_changed)',
    ]);
  });

  it('keeps events at least 24 hours', () => {
    expect(loadConfig({ EVENT_RETENTION_HOURS: '24' }).eventRetentionHours).toBe(24);
    expect(problemsOf({ EVENT_RETENTION_HOURS: '23' })).toEqual([
      'EVENT_RETENTION_HOURS: must not be less than 24',
    ]);
    expect(problemsOf({ EVENT_RETENTION_HOURS: 'a week' })).toEqual([
      'EVENT_RETENTION_HOURS: must be an integer (got "a week")',
    ]);
  });

  it('reads webhook URLs, and refuses bad ones and the development secret in production', () => {
    const urls = 'https://a.example.com/hook, http://127.0.0.1:9000/x';
    expect(loadConfig({ WEBHOOK_URLS: urls }).webhook.urls).toEqual([
      'https://a.example.com/hook',
      'http://127.0.0.1:9000/x',
    ]);
    expect(problemsOf({ WEBHOOK_URLS: 'ftp://x, https://ok' })).toEqual([
      'WEBHOOK_URLS: "ftp://x" is not an http(s) URL of at most 512 characters',
    ]);
    const production = { NODE_ENV: 'production', JWT_SECRET: 'a-real-secret-of-enough-length' };
    expect(
      problemsOf({ ...production, WEBHOOK_URLS: urls }).some((p) => p.startsWith('WEBHOOK_SECRET')),
    ).toBe(true);
    expect(problemsOf(production).some((p) => p.startsWith('WEBHOOK_SECRET'))).toBe(false);
  });

  it('reads MySQL URLs, SQLite files and every setting', () => {
    const config = loadConfig({
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/relay',
      PORT: '9000',
      DB_MIGRATE: 'false',
      RELAY_DEFAULT_MODE: 'invite',
      RELAY_TOKEN_TTL_S: '600',
      TZ: 'Asia/Shanghai',
    });
    expect(config).toMatchObject({
      port: 9000,
      migrate: false,
      database: { kind: 'mysql', url: 'mysql://root@127.0.0.1:3306/relay', flavour: 'mysql' },
      relay: { defaultMode: 'invite', tokenTtlS: 600 },
      timeZone: 'Asia/Shanghai',
    });
    expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.db' }).database).toEqual({
      kind: 'sqlite',
      file: '/tmp/x.db',
    });
  });

  it('reads the gateway settings, and refuses a TRUST_PROXY entry that is no address', () => {
    expect(loadConfig({})).toMatchObject({
      trustProxy: false,
      requestIdHeader: 'x-request-id',
      streamKeepAliveS: 15,
    });
    expect(
      loadConfig({
        TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
        REQUEST_ID_HEADER: 'Kong-Request-ID',
        STREAM_KEEPALIVE_S: '2',
      }),
    ).toMatchObject({
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      requestIdHeader: 'kong-request-id',
      streamKeepAliveS: 2,
    });
    expect(
      problemsOf({ TRUST_PROXY: '10.0.0.0/40', REQUEST_ID_HEADER: 'x id', STREAM_KEEPALIVE_S: '0' })
        .map((p) => p.split(/[: ]/)[0])
        .sort(),
    ).toEqual(['REQUEST_ID_HEADER', 'STREAM_KEEPALIVE_S', 'TRUST_PROXY']);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'postgres://x',
      DB_MIGRATE: 'yes',
      RELAY_DEFAULT_MODE: 'push',
      RELAY_INVITE_TIMEOUT_S: '-1',
      JWT_SECRET: 'short',
      TZ: 'Mars/Olympus',
    });
    for (const name of [
      'PORT',
      'DATABASE_URL',
      'DB_MIGRATE',
      'RELAY_DEFAULT_MODE',
      'RELAY_INVITE_TIMEOUT_S',
      'JWT_SECRET',
      'TZ',
    ]) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
    expect(problems).toHaveLength(7);
  });

  it('refuses development keys in production, naming each', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-secret-of-enough-length',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'QINIU_ACCESS_KEY',
        'QINIU_RTC_APP_ID',
        'QINIU_SECRET_KEY',
        'SERVER_ACCESS_KEY',
        'SERVER_SECRET_KEY',
      ].sort(),
    );
    expect(problemsOf({ NODE_ENV: 'production', ...DEV_KEYS }).length).toBe(6);
  });

  it('starts in production with real keys', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-secret-of-enough-length',
      SERVER_ACCESS_KEY: 'ak',
      SERVER_SECRET_KEY: 'server-secret',
      QINIU_ACCESS_KEY: 'qak',
      QINIU_SECRET_KEY: 'qiniu-secret',
      QINIU_RTC_APP_ID: 'app',
    });
    expect(config.production).toBe(true);
    expect(config.devKeysInUse).toEqual([]);
  });
});

describe('the form of every problem', () => {
  it.each([
    ['PORT', 'eighty', 'PORT: must be an integer (got "eighty")'],
    ['PORT', '70000', 'PORT: must not be greater than 65535'],
    [
      'DATABASE_URL',
      'postgres://x',
      'DATABASE_URL: must be mysql://user:password@host:port/database, mariadb://... or sqlite:<file>',
    ],
    [
      'RELAY_DEFAULT_MODE',
      'push',
      'RELAY_DEFAULT_MODE: must be one of the following values: auto, invite',
    ],
    ['JWT_SECRET', 'short', 'JWT_SECRET: must be longer than or equal to 16 characters'],
    [
      'TRUST_PROXY',
      'maybe',
      'TRUST_PROXY: must be true, false, a number of proxy hops, or a list of proxy IPs/CIDRs',
    ],
    ['TZ', 'Mars/Olympus', 'TZ: "Mars/Olympus" is not a known time zone'],
    [
      'CORS_ORIGINS',
      'app.example.com',
      'CORS_ORIGINS: "app.example.com" is not an origin such as https://app.example.com (scheme, host, optional port; no path, no trailing slash)',
    ],
  ])('%s=%s: "%s"', (name, value, line) => {
    expect(problemsOf({ [name]: value })).toEqual([line]);
  });

  it('names each variable once, at the start of its line, then a colon', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DB_MIGRATE: 'yes',
      LOG_LEVEL: 'loud',
      WEBHOOK_MAX_ATTEMPTS: '0',
      CORS_ORIGINS: 'https://a.example.com/',
      WEBHOOK_URLS: 'ftp://x',
    });
    expect(problems).toHaveLength(6);
    for (const line of problems) {
      const [name, rest] = line.split(/: (.*)/s);
      expect({ line, form: /^[A-Z_]+$/.test(name) && !rest.includes(name) }).toEqual({
        line,
        form: true,
      });
    }
  });
});

describe(corsProblems.name, () => {
  it.each([
    ['', []],
    ['*', []],
    ['https://app.example.com', []],
    ['https://app.example.com, http://localhost:3000', []],
    ['https://app.example.com/', ['https://app.example.com/']],
    ['https://app.example.com/live', ['https://app.example.com/live']],
    ['app.example.com', ['app.example.com']],
    ['ftp://files.example.com', ['ftp://files.example.com']],
    ['https://APP.example.com', ['https://APP.example.com']],
  ])('CORS_ORIGINS=%s refuses %j', (value, refused) => {
    expect(corsProblems(value)).toEqual(
      refused.map(
        (entry) =>
          `CORS_ORIGINS: "${entry}" is not an origin such as https://app.example.com (scheme, host, optional port; no path, no trailing slash)`,
      ),
    );
  });

  it('refuses * listed with origins', () => {
    expect(corsProblems('*, https://app.example.com')).toEqual([
      'CORS_ORIGINS: * allows every origin and cannot be listed with others',
    ]);
  });
});
