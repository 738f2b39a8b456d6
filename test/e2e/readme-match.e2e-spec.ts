/**
 * The README's random PK, pasted into bash against a started server: one anchor waits, the next
 * is matched with her, both join and hang up.
 */
import { tmpdir } from 'node:os';
import { codeBlocks, commands, readRepoFile, REPO_ROOT, runBash, section } from '../utils/markdown';
import { startTestApp, TestApp } from '../utils/test-app';

/**
 * Pasted into bash in a folder that is not the project, as a newcomer may: the project and the
 * service's port come from RELAY_DIR and PORT, as the README says.
 */
const runHere = (script: string, env: Record<string, string>) =>
  runBash(script, { cwd: tmpdir(), env: { RELAY_DIR: REPO_ROOT, ...env } });

describe('README random PK', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs as pasted: a ticket waits, the next anchor is matched with it', async () => {
    const [block] = codeBlocks(
      section(readRepoFile('README.md'), 'Two anchors matched at random'),
      'bash',
    );
    const run = await runHere(`set -u\n${block}`, { PORT: new URL(t.baseUrl).port });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const answers = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(answers).toHaveLength(11);
    for (const answer of answers) expect(answer).toMatchObject({ code: 0, message: 'success' });
    const [roomA, roomB, , , waiting, matched, read, token, , joined, stopped] = answers.map(
      (a) => a.data,
    );
    expect(waiting).toMatchObject({ room_id: roomA.live_id, state: 'waiting' });
    expect(matched).toMatchObject({ room_id: roomB.live_id, state: 'matched', relay_status: 1 });
    expect(read).toMatchObject({
      match_id: waiting.match_id,
      state: 'matched',
      relay_id: matched.relay_id,
    });
    expect(token.relay_tokens.map((x: any) => x.room_id)).toEqual([roomB.live_id]);
    expect([joined.relay_status, stopped.relay_status]).toEqual([4, 6]);
  }, 120_000);

  it('is the same script in the Chinese quick start, comments aside', () => {
    const [english] = codeBlocks(
      section(readRepoFile('README.md'), 'Two anchors matched at random'),
      'bash',
    );
    const [chinese] = codeBlocks(
      section(readRepoFile('docs/README.zh-CN.md'), '随机 PK 匹配'),
      'bash',
    );
    expect(commands(chinese)).toBe(commands(english));
    expect(chinese).not.toBe(english);
  });
});
