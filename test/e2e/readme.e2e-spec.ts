/**
 * The README as a newcomer uses it: its walk-through block runs, pasted into bash, against a
 * started server, and neither the README nor docs/ points at anything a clone does not have.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import {
  anchorOf,
  codeBlocks,
  readRepoFile,
  REPO_ROOT,
  runBash,
  section,
  withoutCodeBlocks,
} from '../utils/markdown';
import { startTestApp, TestApp } from '../utils/test-app';
import { tokenFor } from '../factories';

const WALK_THROUGH = 'A PK in thirteen requests';

describe('README walk-through', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs as pasted against a started server and every answer is a success', async () => {
    const [block] = codeBlocks(section(readRepoFile('README.md'), WALK_THROUGH), 'bash');
    expect(block).toBeDefined();
    // The block talks to the port `npm start` listens on; this server has a port of its own.
    expect(block.split('localhost:8080').length).toBe(2);
    const script = block.replace('localhost:8080', t.baseUrl.replace('http://', ''));

    const run = await runBash(`set -u\n${script}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const answers = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(answers).toHaveLength(13);
    for (const answer of answers) expect(answer).toMatchObject({ code: 0, message: 'success' });

    const [
      roomA,
      roomB,
      liveA,
      liveB,
      start,
      accept,
      beatA,
      beatB,
      joinA,
      joinB,
      stop,
      infoA,
      infoB,
    ] = answers.map((answer) => answer.data);
    expect([roomA.anchor_id, roomB.anchor_id]).toEqual(['alice', 'bob']);
    expect([liveA.live_status, liveB.live_status]).toEqual([1, 1]);
    expect(start).toMatchObject({ relay_status: 0, relay_token: '' });
    expect(accept).toMatchObject({ relay_id: start.relay_id, relay_status: 1 });
    expect(accept.relay_token).toMatch(/^[^:]+:[^:]+:[^:]+$/);
    expect([beatA.live_status, beatB.live_status]).toEqual([1, 1]);
    expect([joinA.relay_status, joinB.relay_status, stop.relay_status]).toEqual([2, 4, 6]);
    expect([infoA.live_id, infoB.live_id]).toEqual([roomA.live_id, roomB.live_id]);
    expect([infoA.pk_id, infoB.pk_id]).toEqual(['', '']);

    const relay = await t.call('GET', `/client/relay/${start.relay_id}`, {
      token: tokenFor(t, 'alice'),
    });
    expect(relay.body.data).toMatchObject({ status: 6, stop_reason: 'stopped' });
  });

  it("docs/api.md's three-room walk-through prints what the guide says it prints", async () => {
    const guide = section(readRepoFile('docs/api.md'), 'A three-room relay, step by step');
    const [block] = codeBlocks(guide, 'bash');
    const [printed] = codeBlocks(guide, 'text');
    expect(block.split('localhost:8080').length).toBe(2);
    const script = block.replace('localhost:8080', t.baseUrl.replace('http://', ''));

    const run = await runBash(`set -u\n${script}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const answers = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(answers.length).toBeGreaterThan(15);
    for (const answer of answers) expect(answer).toMatchObject({ code: 0, message: 'success' });
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual(printed.trim().split('\n'));
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
