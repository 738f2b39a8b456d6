/**
 * The README's battle night, pasted into bash against a started server: two rooms connect, fight
 * a battle with gifts from several audience members, see the ranking and the MVP, the punishment,
 * a rematch, and hang up.
 */
import { tmpdir } from 'node:os';
import { codeBlocks, commands, readRepoFile, REPO_ROOT, runBash, section } from '../utils/markdown';
import { startTestApp, TestApp } from '../utils/test-app';
import { tokenFor } from '../factories';

/**
 * Pasted into bash in a folder that is not the project, as a newcomer may: the project and the
 * service's port come from RELAY_DIR and PORT, as the README says.
 */
const runHere = (script: string, env: Record<string, string>) =>
  runBash(script, { cwd: tmpdir(), env: { RELAY_DIR: REPO_ROOT, ...env } });

describe('README battle night', () => {
  it('is the same script in the Chinese quick start, comments aside', () => {
    const [english] = codeBlocks(section(readRepoFile('README.md'), 'A battle night'), 'bash');
    const [chinese] = codeBlocks(
      section(readRepoFile('docs/README.zh-CN.md'), 'PK 对战与贡献榜'),
      'bash',
    );
    expect(commands(chinese)).toBe(commands(english));
    expect(chinese).not.toBe(english);
  });

  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs as pasted: the result, the MVP, the punishment, a rematch and the hang-up', async () => {
    const [block] = codeBlocks(section(readRepoFile('README.md'), 'A battle night'), 'bash');
    const run = await runHere(`set -u\n${block}`, { PORT: new URL(t.baseUrl).port });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const answers = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    for (const answer of answers) expect(answer).toMatchObject({ code: 0, message: 'success' });
    const battles = answers.map((a) => a.data).filter((d) => d?.battle_no !== undefined);
    const [room_a, room_b] = [answers[0].data.live_id, answers[1].data.live_id];
    const settled = battles.find((b) => b.battle_no === 1 && b.phase === 'punishment');
    expect(settled).toMatchObject({
      scores: { [room_a]: 110, [room_b]: 30 },
      ranking: [
        { room_id: room_a, score: 110, rank: 1 },
        { room_id: room_b, score: 30, rank: 2 },
      ],
      winner_room_id: room_a,
      mvp: { room_id: room_a, user_id: 'fan_lee', amount: 60 },
    });
    const board = answers.find((a) => a.data?.list !== undefined).data;
    expect(board.list).toEqual([
      { user_id: 'fan_lee', amount: 60, rank: 1 },
      { user_id: 'fan_kim', amount: 50, rank: 2 },
    ]);
    expect(battles[battles.length - 1]).toMatchObject({
      battle_no: 2,
      phase: 'ended',
      reason: 'relay_ended',
    });
    const first = await t.call('GET', `/client/relay/${battles[0].relay_id}/battles/1`, {
      token: tokenFor(t, 'alice'),
    });
    expect(first.body.data).toMatchObject({ phase: 'ended', reason: 'finished' });
  }, 120_000);
});
