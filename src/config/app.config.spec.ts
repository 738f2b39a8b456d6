import { ConfigError, DEV_KEYS, loadConfig } from './app.config';

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
    expect(config.webhook).toEqual({ urls: [], secret: DEV_KEYS.WEBHOOK_SECRET, maxAttempts: 10 });
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
