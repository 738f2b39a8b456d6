/**
 * The command line a newcomer uses from clone to a working PK: the npm scripts answer --help
 * and refuse unknown options plainly, `npm run server` signs server API calls the service
 * accepts, a busy port is one clear line, and `npm start` drains on SIGTERM and frees its port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relay, RelayFixture } from '../factories';
import {
  groupAlive,
  killGroup,
  portFree,
  runNpmScript,
  runTypeScript,
  Spawned,
  spawnProcess,
} from '../utils/spawned-process';
import { startTestApp, TestApp } from '../utils/test-app';

const STACK_FRAME = /^\s+at /m;

describe('command line', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each([
    ['token', 'Usage: npm run token --'],
    ['server', 'Usage: npm run server --'],
  ])('npm run %s', (script, usage) => {
    it('prints its usage on stdout for --help and -h, and exits 0', async () => {
      const [long, short] = await Promise.all([
        runNpmScript(script, ['--help']).exited,
        runNpmScript(script, ['-h']).exited,
      ]);
      for (const exit of [long, short]) {
        expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
        expect(exit.stdout.startsWith(usage)).toBe(true);
      }
    });

    it('refuses an unknown option with one line and the usage, exit 2, no stack', async () => {
      const exit = await runNpmScript(script, ['--frobnicate']).exited;
      expect(exit.code).toBe(2);
      expect(exit.stdout).toBe('');
      const [first, blank] = exit.stderr.split('\n');
      expect(first).toMatch(/--frobnicate/);
      expect(blank).toBe('');
      expect(exit.stderr).toContain(usage);
      expect(exit.stderr).not.toMatch(STACK_FRAME);
    });
  });

  it('npm run token refuses a user or app id the API would refuse, one line each, exit 2', async () => {
    const exit = await runNpmScript('token', ['--user', 'alice smith', '--app', 'my/app']).exited;
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toBe(
      [
        `--user must be 1-64 characters of letters, digits, '_', '.', ':' or '-' (got "alice smith")`,
        `--app must be 1-64 characters of letters, digits, '_', '.', ':' or '-' (got "my/app")`,
        '',
      ].join('\n'),
    );
  });

  describe('npm run server against the running service', () => {
    const keys = { SERVER_ACCESS_KEY: 'cli-spec-access', SERVER_SECRET_KEY: 'cli-spec-secret-key' };
    let t: TestApp;
    let fixture: RelayFixture;
    beforeAll(async () => {
      t = await startTestApp(keys);
      fixture = await relay(t);
    });
    afterAll(async () => {
      await t.close();
    });

    const server = (args: string[], env: Record<string, string> = keys) =>
      runNpmScript('server', [...args, '--url', t.baseUrl], { env }).exited;

    it('changes a PK score with a signed JSON body', async () => {
      const other = await relay(t);
      const body = JSON.stringify({ room_id: other.init.liveId, delta: 5 });
      const scored = await server(['POST', `/server/relay/${other.relayId}/score`, body]);
      expect({ code: scored.code, stderr: scored.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(scored.stdout).data).toEqual({
        relay_id: other.relayId,
        scores: { [other.init.liveId]: 5, [other.recv.liveId]: 0 },
        duplicate: false,
        battle: null,
      });
    });

    it('reads a relay and stops it, printing the envelopes', async () => {
      const read = await server(['GET', `/server/relay/${fixture.relayId}`]);
      expect({ code: read.code, stderr: read.stderr }).toEqual({ code: 0, stderr: '' });
      // Pretty-printed, as a person reads it.
      expect(read.stdout).toMatch(/^{\n {2}"request_id": /);
      const session = JSON.parse(read.stdout);
      expect(session).toMatchObject({ code: 0, message: 'success' });
      expect(session.data).toMatchObject({
        relay_id: fixture.relayId,
        status: fixture.started.relay_status,
        init_user_id: fixture.init.userId,
      });

      const stop = await server(['post', `/server/relay/${fixture.relayId}/stop`]);
      expect(stop.code).toBe(0);
      expect(JSON.parse(stop.stdout)).toMatchObject({
        code: 0,
        data: { relay_id: fixture.relayId, relay_status: 6 },
      });
      const after = await t.call('GET', `/client/relay/${fixture.relayId}`, {
        token: fixture.init.token,
      });
      expect(after.body.data).toMatchObject({ status: 6, stop_reason: 'admin' });
    });

    it('signs a query string and a JSON body as the service verifies them', async () => {
      const [issued, withBody] = await Promise.all([
        server(['GET', '/server/auth/token?user_id=cli_user&app_id=cli_app']),
        server(['POST', `/server/relay/${fixture.relayId}/stop`, '{"note":"signed too"}']),
      ]);
      expect(issued.code).toBe(0);
      const token = JSON.parse(issued.stdout).data.access_token;
      const room = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title: 'issued through the CLI' },
      });
      expect(room.body.data.anchor_id).toBe('cli_user');
      expect({ code: withBody.code, stderr: withBody.stderr }).toEqual({ code: 0, stderr: '' });
    });

    it('exits 1 with the status on stderr when the service refuses, still printing the answer', async () => {
      const [wrongKey, missing] = await Promise.all([
        server(['GET', `/server/relay/${fixture.relayId}`], {
          ...keys,
          SERVER_SECRET_KEY: 'not-the-service-secret',
        }),
        server(['GET', '/server/relay/relay_that_is_not_there']),
      ]);
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toBe('HTTP 401 Unauthorized\n');
      expect(JSON.parse(wrongKey.stdout)).toMatchObject({ code: 401 });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe('HTTP 404 Not Found\n');
      expect(JSON.parse(missing.stdout)).toMatchObject({ code: 404 });
    });
  });

  describe('a port already in use', () => {
    let blocker: Server;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen({ port: 0, host: '0.0.0.0' }, resolve));
    });
    afterAll(() => new Promise((resolve) => blocker.close(resolve)));

    it('stops the service with exit 1 and one line naming PORT, no stack', async () => {
      const { port } = blocker.address() as { port: number };
      const exit = await runTypeScript('src/main.ts', [], {
        env: { PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'busy.db')}` },
      }).exited;
      expect(exit.code).toBe(1);
      // Found before the app starts: the operator reads this line and nothing else.
      const lines = exit.output.split('\n').filter((line) => line.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port} is in use: stop the other process or set PORT`);
      expect(exit.output).not.toMatch(STACK_FRAME);
    }, 60_000);
  });

  // In this order: `npm start` builds dist/, which `npm run start:prod` runs.
  describe.each([
    ['start', ['start']],
    ['run start:prod', ['run', 'start:prod']],
  ])('npm %s', (name, command) => {
    let started: Spawned | undefined;
    // Whatever the outcome, nothing of it may outlive the spec.
    afterAll(() => started && killGroup(started));

    it('drains on SIGTERM to npm, exits 0 and leaves the port free', async () => {
      // PORT=0: the service reports the port it got, so the spec needs no free-port guess.
      started = spawnProcess('npm', command, {
        env: { PORT: '0', DATABASE_URL: `sqlite:${join(dir, `${name.replace(/\W/g, '-')}.db`)}` },
        detached: true,
      });
      const [, port] = await started.waitFor(/listening on port (\d+)/, 100_000);
      expect(await portFree(Number(port))).toBe(false);

      started.child.kill('SIGTERM');
      // The drain takes at most 10 s; an npm that left its service behind fails here, not by
      // waiting for output the orphan keeps open.
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        started.ended,
        new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 15_000))),
      ]);
      clearTimeout(timer);
      expect(ended).toEqual({ code: 0, signal: null });
      expect(groupAlive(started)).toBe(false);
      expect(await portFree(Number(port))).toBe(true);
      const { output } = await started.exited;
      expect(output).toMatch(/SIGTERM: draining/);
      expect(output).toMatch(/drained; bye/);
    }, 120_000);
  });
});
