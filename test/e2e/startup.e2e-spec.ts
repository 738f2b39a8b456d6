/**
 * The process as an operator starts it (docs/operations.md): configuration checked at start,
 * zero-config development mode, and the token script a newcomer uses for Swagger UI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTypeScript } from '../utils/spawned-process';
import { startTestApp, TestApp } from '../utils/test-app';

describe('startup', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-startup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits non-zero naming every bad variable', async () => {
    const { code, output } = await runTypeScript('src/main.ts', [], {
      env: { PORT: 'eighty', DATABASE_URL: 'postgres://nope', RELAY_DEFAULT_MODE: 'push' },
    }).exited;
    expect(code).not.toBe(0);
    for (const name of ['PORT', 'DATABASE_URL', 'RELAY_DEFAULT_MODE'])
      expect(output).toContain(name);
  });

  it('prints the plain block of docs/operations.md on stderr: one line per variable, no stack', async () => {
    const { code, stdout, stderr } = await runTypeScript('src/main.ts', [], {
      env: {
        PORT: 'eighty',
        CORS_ORIGINS: 'https://app.example.com/',
        RELAY_DEFAULT_MODE: 'push',
        WEBHOOK_URLS: 'ftp://x',
      },
    }).exited;
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        'invalid configuration:',
        '  PORT: must be an integer (got "eighty")',
        '  RELAY_DEFAULT_MODE: must be one of the following values: auto, invite',
        '  WEBHOOK_URLS: "ftp://x" is not an http(s) URL of at most 512 characters',
        '  CORS_ORIGINS: "https://app.example.com/" is not an origin such as https://app.example.com (scheme, host, optional port; no path, no trailing slash)',
        '',
      ].join('\n'),
    );
  }, 90_000);

  it('names a MySQL database that does not exist in one line, with no stack trace', async () => {
    // The MariaDB of the MySQL run (CI starts it for both runs), or the usual local one.
    const configured = process.env.DATABASE_URL ?? '';
    const server = new URL(
      /^(mysql|mariadb):/.test(configured) ? configured : 'mysql://root@127.0.0.1:3306/x',
    );
    const missing = `relay_missing_${process.pid}`;
    server.pathname = `/${missing}`;
    const { code, stdout, stderr } = await runTypeScript('src/main.ts', [], {
      env: { PORT: '0', DATABASE_URL: server.toString() },
    }).exited;
    expect(code).toBe(1);
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'fatal',
      msg: `database "${missing}" does not exist on ${server.host}: create it (CREATE DATABASE ${missing} CHARACTER SET utf8mb4) or fix DATABASE_URL`,
    });
  }, 90_000);

  it('refuses development keys with NODE_ENV=production', async () => {
    const { code, output } = await runTypeScript('src/main.ts', [], {
      env: { NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'prod.db')}` },
    }).exited;
    expect(code).not.toBe(0);
    for (const name of ['JWT_SECRET', 'SERVER_SECRET_KEY', 'QINIU_SECRET_KEY'])
      expect(output).toContain(name);
  });

  it('starts on development keys when none are configured, and says so in its log', async () => {
    const started = runTypeScript('src/main.ts', [], {
      env: { PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'dev.db')}` },
    });
    await started.waitFor(/listening on port/);
    started.child.kill('SIGTERM');
    const { output } = await started.exited;
    expect(output).toMatch(/using development keys for JWT_SECRET/);
    expect(output).toMatch(/listening on port \d+ with SQLite file/);
  });

  describe('npm run token', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      await t.close();
    });

    it('prints a development token that the client API accepts for that user and app', async () => {
      const { code, stdout } = await runTypeScript('src/auth/token.cli.ts', [
        '--user',
        'alice',
        '--app',
        'demo',
      ]).exited;
      expect(code).toBe(0);
      const token = stdout.trim();
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title: 'from the script' },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.data.anchor_id).toBe('alice');
      const other = await t.call('GET', `/client/live/room/info/${answer.body.data.live_id}`, {
        token: (
          await runTypeScript('src/auth/token.cli.ts', ['--user', 'bob']).exited
        ).stdout.trim(),
      });
      expect(other.status).toBe(404);
    });
  });
});
