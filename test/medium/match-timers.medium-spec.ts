/**
 * docs/concepts.md, "Random PK": a waiting ticket times out at exactly its expiry (its own
 * timeout_s, else MATCH_TIMEOUT_S), once however many sweeps run, and a ticket that was matched
 * or cancelled before is left as it is.
 */
import { MatchService } from '../../src/match/match.service';
import { serviceAnchor } from '../factories/service';
import { MediumApp, startMediumApp } from '../utils/medium-app';

describe('match ticket timeout, at due times set by the fake clock', () => {
  let app: MediumApp;
  let matches: MatchService;
  let pools = 0;

  beforeAll(async () => {
    app = await startMediumApp({ MATCH_TIMEOUT_S: '60', ROOM_HEARTBEAT_TIMEOUT_S: '0' });
    matches = app.get(MatchService);
  });
  afterAll(() => app.close());

  async function sweepAt(at: number): Promise<void> {
    app.clock.set(at);
    await Promise.all([matches.expireDue(200), matches.expireDue(200), matches.expireDue(200)]);
  }

  it.each([
    ['its own timeout_s of 5 s', 5, 5],
    ['its own timeout_s of 600 s', 600, 600],
    ['MATCH_TIMEOUT_S when it names none', undefined, 60],
  ])('times a ticket out at %s', async (_, timeout_s, expiresS) => {
    const at = app.clock.begin();
    const alice = await serviceAnchor(app);
    const pool = `pool_${++pools}`;
    const waiting = await matches.match(alice.user, { room_id: alice.liveId, pool, timeout_s });
    expect(waiting.state).toBe('waiting');
    await sweepAt(at + expiresS * 1000 - 1);
    expect((await matches.get(alice.user, waiting.match_id)).state).toBe('waiting');
    await sweepAt(at + expiresS * 1000);
    expect(await matches.get(alice.user, waiting.match_id)).toMatchObject({
      state: 'timeout',
      reason: 'timeout',
    });
    expect(await matches.count(alice.user, { pool })).toMatchObject({ waiting: 0 });
  });

  it('leaves a cancelled ticket cancelled when its expiry passes', async () => {
    const at = app.clock.begin();
    const alice = await serviceAnchor(app);
    const waiting = await matches.match(alice.user, { room_id: alice.liveId, timeout_s: 5 });
    await matches.cancel(alice.user, waiting.match_id);
    await sweepAt(at + 3600_000);
    expect((await matches.get(alice.user, waiting.match_id)).state).toBe('cancelled');
  });
});
