/**
 * The README as a newcomer uses it: its walk-through block runs, pasted into bash, against a
 * started server, and neither the README nor docs/ points at anything a clone does not have.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { unusedPort } from '../utils/spawned-process';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import {
  anchorOf,
  BashRun,
  codeBlocks,
  readRepoFile,
  REPO_ROOT,
  runBash,
  section,
  withoutCodeBlocks,
} from '../utils/markdown';
import { startTestApp, TestApp } from '../utils/test-app';
import { tokenFor } from '../factories';

const WALK_THROUGH = 'A scored PK, start to winner';

const answersOf = (run: BashRun) =>
  run.stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

describe('README walk-through', () => {
  let t: TestApp;
  let elsewhere: string;
  /** The port the test app listens on: not 8080, as a newcomer's PORT may be. */
  let port: string;

  beforeAll(async () => {
    // Each `token` and `srv` line starts a TypeScript script: seconds on a laptop, but on a CI
    // machine running other specs the scored PK can go past the 60 s a room may be silent, and
    // end with room_offline. The heartbeats of the block are still sent and checked.
    t = await startTestApp({ ROOM_HEARTBEAT_TIMEOUT_S: '600' });
    port = new URL(t.baseUrl).port;
    elsewhere = mkdtempSync(join(tmpdir(), 'relay-newcomer-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const walkThrough = () => {
    const [block] = codeBlocks(section(readRepoFile('README.md'), WALK_THROUGH), 'bash');
    expect(block).toBeDefined();
    // One address for every step, from one variable.
    expect(block.match(/localhost/g)).toHaveLength(1);
    expect(block).toMatch(/^RELAY_URL=\$\{RELAY_URL:-http:\/\/localhost:\$\{PORT:-8080\}\}/);
    return block;
  };

  it('runs from another folder against the PORT the service was started with: a scored PK to its winner', async () => {
    const run = await runBash(`set -u\n${walkThrough()}`, {
      cwd: elsewhere,
      env: {
        PORT: port,
        RELAY_DIR: REPO_ROOT,
      },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const answers = answersOf(run);
    expect(answers).toHaveLength(17);
    for (const answer of answers) expect(answer).toMatchObject({ code: 0, message: 'success' });

    const [
      roomA,
      roomB,
      liveA,
      liveB,
      start,
      accept,
      joinA,
      joinB,
      gift1,
      gift2,
      retried,
      beatA,
      beatB,
      stop,
      session,
      infoA,
      infoB,
    ] = answers.map((answer) => answer.data);
    expect([roomA.anchor_id, roomB.anchor_id]).toEqual(['alice', 'bob']);
    expect([liveA.live_status, liveB.live_status]).toEqual([1, 1]);
    expect(start).toMatchObject({ relay_status: 0, relay_token: '' });
    expect(accept).toMatchObject({ relay_id: start.relay_id, relay_status: 1 });
    expect(accept.relay_token).toMatch(/^[^:]+:[^:]+:[^:]+$/);
    expect([joinA.relay_status, joinB.relay_status]).toEqual([2, 4]);
    const a = roomA.live_id;
    const b = roomB.live_id;
    expect(gift1).toMatchObject({ scores: { [a]: 30, [b]: 0 }, duplicate: false });
    expect(gift2).toMatchObject({ scores: { [a]: 30, [b]: 20 }, duplicate: false });
    expect(retried).toMatchObject({ scores: { [a]: 30, [b]: 20 }, duplicate: true });
    expect([beatA.live_status, beatB.live_status]).toEqual([1, 1]);
    expect(stop.relay_status).toBe(6);
    expect(session).toMatchObject({
      relay_id: start.relay_id,
      status: 6,
      stop_reason: 'stopped',
      scores: { [a]: 30, [b]: 20 },
      winner_room_id: a,
    });
    expect([infoA.live_id, infoB.live_id]).toEqual([a, b]);
    expect([infoA.pk_id, infoB.pk_id]).toEqual(['', '']);

    const relay = await t.call('GET', `/client/relay/${start.relay_id}`, {
      token: tokenFor(t, 'alice'),
    });
    expect(relay.body.data).toMatchObject({ status: 6, winner_room_id: a });
  }, 180_000);

  it('stops at once, saying so, when pasted outside the project folder without RELAY_DIR', async () => {
    const run = await runBash(walkThrough(), { cwd: elsewhere, env: { PORT: port } });
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `stopped: ${elsewhere} is not the project folder: cd into it, or set RELAY_DIR\n`,
    );
    expect(run.code).not.toBe(0);
  });

  it('stops at the first request when no service answers at the address, and runs nothing after it', async () => {
    const nobody = `http://127.0.0.1:${await unusedPort()}`;
    const run = await runBash(walkThrough(), {
      cwd: elsewhere,
      env: {
        RELAY_URL: nobody,
        RELAY_DIR: REPO_ROOT,
      },
    });
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^curl: \(7\) /),
      `stopped: no answer from ${nobody}: is the service running there? (or set RELAY_URL)`,
    ]);
    expect(run.code).not.toBe(0);
  }, 120_000);

  it('stops at the first refused step with what the service answered, not a stack trace', async () => {
    // Tokens signed with another secret than the service's: the first request is refused.
    const run = await runBash(walkThrough(), {
      cwd: elsewhere,
      env: {
        PORT: port,
        RELAY_DIR: REPO_ROOT,
        JWT_SECRET: 'not-the-secret-of-that-service',
      },
    });
    const answers = answersOf(run);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ code: 401, message: 'invalid token' });
    expect(run.stderr).toBe(
      'stopped: POST /client/live/room/instance answered code 401: invalid token\n',
    );
    expect(run.code).not.toBe(0);
  }, 120_000);

  it("docs/api.md's three-room walk-through prints what the guide says it prints", async () => {
    const guide = section(readRepoFile('docs/api.md'), 'A three-room relay, step by step');
    const [block] = codeBlocks(guide, 'bash');
    const [printed] = codeBlocks(guide, 'text');
    expect(block.match(/localhost/g)).toHaveLength(1);

    const run = await runBash(`set -u\n${block}`, {
      cwd: elsewhere,
      env: { PORT: port, RELAY_DIR: REPO_ROOT },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const answers = answersOf(run);
    expect(answers.length).toBeGreaterThan(15);
    for (const answer of answers) expect(answer).toMatchObject({ code: 0, message: 'success' });
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual(printed.trim().split('\n'));
  }, 180_000);
});

/** A bash block without its comments: what runs. */
const commands = (block: string) =>
  block
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, ''))
    .join('\n');

describe('the Chinese quick start', () => {
  const chinese = readRepoFile('docs/README.zh-CN.md');

  it.each([
    ['README.md', WALK_THROUGH, '一场计分的 PK：从发起到决出胜者'],
    ['docs/api.md', 'A three-room relay, step by step', '多房间连麦（最多九个房间）'],
  ])(
    'has the walk-through of %s "%s" inline, the same commands with comments of its own',
    (file, english, heading) => {
      const [original] = codeBlocks(section(readRepoFile(file), english), 'bash');
      const [translated] = codeBlocks(section(chinese, heading), 'bash').filter((block) =>
        block.startsWith('RELAY_URL='),
      );
      expect(commands(translated)).toBe(commands(original));
      expect(translated).not.toBe(original);
      expect(translated).toMatch(/[\u4e00-\u9fff]/);
    },
  );

  it('has no <placeholder> in any bash block: each runs as pasted', () => {
    for (const block of codeBlocks(chinese, 'bash')) expect(block).not.toMatch(/<[a-z_]+>/);
  });
});

/** README.md and every markdown file under docs/. */
function guideFiles(): string[] {
  const docs = readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

function headingsOf(path: string): string[] {
  return withoutCodeBlocks(readRepoFile(path))
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => anchorOf(line.replace(/^#+ /, '')));
}

describe('README and docs/ stand alone', () => {
  it.each(guideFiles())('%s links only to files of the repository that exist', (file) => {
    const text = withoutCodeBlocks(readRepoFile(file));
    const targets = [
      ...[...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]),
      ...[...text.matchAll(/<((?:https?|file):[^>]+)>/g)].map((m) => m[1]),
    ];
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      if (/^[a-z]+:/i.test(target)) {
        // The only absolute URLs a guide may give are the service the reader runs.
        expect(target).toMatch(/^http:\/\/localhost:8080\//);
        continue;
      }
      const [path, anchor] = target.split('#');
      const resolved = path === '' ? file : normalize(join(dirname(file), path));
      expect({
        target,
        inside: !relative(REPO_ROOT, join(REPO_ROOT, resolved)).startsWith('..'),
      }).toEqual({ target, inside: true });
      expect({ target, exists: existsSync(join(REPO_ROOT, resolved)) }).toEqual({
        target,
        exists: true,
      });
      if (anchor !== undefined && resolved.endsWith('.md')) {
        expect({ target, headings: headingsOf(resolved) }).toEqual({
          target,
          headings: expect.arrayContaining([anchor]),
        });
      }
    }
  });

  it('nothing in the README, docs/, src/ or test/ names a file outside the repository', async () => {
    const grep = await runBash(
      "grep -rnE 'CONTRACT\\.md|\\.\\./shared|shared/spec|STYLE\\.md' README.md docs src test bench .ci || true",
    );
    // This spec names the patterns it looks for; any other hit is a dangling reference.
    const hits = grep.stdout
      .split('\n')
      .filter((line) => line && !line.startsWith('test/e2e/readme'));
    expect(hits).toEqual([]);
  });
});
