/**
 * The process as an operator starts it (docs/operations.md): configuration checked at start,
 * zero-config development mode, and the token script a newcomer uses for Swagger UI.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, TestApp } from '../utils/test-app';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = ['-r', 'ts-node/register/transpile-only'];

interface Exit {
  code: number | null;
  output: string;
}

/** Runs a TypeScript entry point with a clean environment plus `env`. */
function run(
  entry: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [...TS_NODE, entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<Exit>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
  return { child, exit };
}

describe('startup', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-startup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits non-zero naming every bad variable', async () => {
    const { exit } = run('src/main.ts', [], {
      PORT: 'eighty',
      DATABASE_URL: 'postgres://nope',
      RELAY_DEFAULT_MODE: 'push',
    });
    const { code, output } = await exit;
    expect(code).not.toBe(0);
    for (const name of ['PORT', 'DATABASE_URL', 'RELAY_DEFAULT_MODE'])
      expect(output).toContain(name);
  });

  it('refuses development keys with NODE_ENV=production', async () => {
    const { exit } = run('src/main.ts', [], {
      NODE_ENV: 'production',
      DATABASE_URL: `sqlite:${join(dir, 'prod.db')}`,
    });
    const { code, output } = await exit;
    expect(code).not.toBe(0);
    for (const name of ['JWT_SECRET', 'SERVER_SECRET_KEY', 'QINIU_SECRET_KEY'])
      expect(output).toContain(name);
  });

  it('starts on development keys when none are configured, and says so in its log', async () => {
    const { child, exit } = run('src/main.ts', [], {
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'dev.db')}`,
    });
    let output = '';
    const listening = new Promise<void>((resolve) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('listening on port')) resolve();
      };
      child.stdout?.on('data', look);
      child.stderr?.on('data', look);
    });
    await Promise.race([listening, exit]);
    child.kill('SIGTERM');
    await exit;
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
      const { exit } = run('src/auth/token.cli.ts', ['--user', 'alice', '--app', 'demo'], {});
      const { code, output } = await exit;
      expect(code).toBe(0);
      const token = output.trim();
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title: 'from the script' },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.data.anchor_id).toBe('alice');
      const other = await t.call('GET', `/client/live/room/info/${answer.body.data.live_id}`, {
        token: (await run('src/auth/token.cli.ts', ['--user', 'bob'], {}).exit).output.trim(),
      });
      expect(other.status).toBe(404);
    });
  });
});
