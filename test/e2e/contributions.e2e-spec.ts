/**
 * Contributions (docs/concepts.md, "Contributions"): what each audience member's gifts added to a
 * room, over the relay and in each battle, ranked and paged; the MVP of a battle.
 */
import {
  battleAction,
  gift,
  leaderboard,
  pkRelay,
  readBattle,
  startBattle,
} from '../factories/battle';
import { tokenFor } from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';
import { FakeClock } from '../utils/fake-clock';

describe('contributions', () => {
  let t: TestApp;
  let clock: FakeClock;
  beforeAll(async () => {
    t = await startTestApp({
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
      RELAY_JOIN_TIMEOUT_S: '0',
      TIMER_INTERVAL_MS: '10000',
    });
    clock = new FakeClock().attachTo(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['with a score', { score: 5, user_id: 'fan' }],
    ['with a negative delta', { delta: -5, user_id: 'fan' }],
    ['that is not an identifier', { delta: 5, user_id: 'fan one' }],
  ])('refuses user_id %s (400), changing nothing', async (_, body) => {
    const r = await pkRelay(t);
    const answer = await gift(t, r.relayId, { room_id: r.anchors[0].liveId, ...body });
    expectError(answer, 400);
    const [row] = await t.dataSource.query(
      'SELECT COUNT(*) AS n FROM relay_contribution WHERE relay_id = ?',
      [r.relayId],
    );
    expect(Number(row.n)).toBe(0);
  });

  it("adds to the gifter's contribution to the room, in the relay and in the battle being fought", async () => {
    const r = await pkRelay(t);
    const [a, b] = r.anchors;
    expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 4, user_id: 'early' }));
    expectOk(await startBattle(t, r, a, { mode: 'auto', countdown_s: 0 }));
    clock.advance(1);
    expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 10, user_id: 'fan_1' }));
    clock.advance(1);
    expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 3, user_id: 'early' }));
    clock.advance(1);
    expectOk(await gift(t, r.relayId, { room_id: b.liveId, delta: 2, user_id: 'fan_1' }));
    expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 5 }));
    expect((await leaderboard(t, r, { room_id: a.liveId })).rows).toEqual([
      ['fan_1', 10, 1],
      ['early', 7, 2],
    ]);
    expect((await leaderboard(t, r, { room_id: a.liveId, battle_no: 1 })).rows).toEqual([
      ['fan_1', 10, 1],
      ['early', 3, 2],
    ]);
    expect((await leaderboard(t, r, { room_id: b.liveId, battle_no: 1 })).rows).toEqual([
      ['fan_1', 2, 1],
    ]);
    const stopped = expectOk(await battleAction(t, r, b, 1, 'stop'));
    expect(stopped.mvp).toEqual({ room_id: a.liveId, user_id: 'fan_1', amount: 10 });
  });

  it('ranks equal amounts by who reached theirs first, then by user_id, and pages with rank', async () => {
    const r = await pkRelay(t);
    const room = r.anchors[0].liveId;
    const gifts: [string, number][] = [
      ['zed', 5],
      ['amy', 5],
      ['bob', 9],
      ['cat', 2],
      ['dan', 5],
      ['amy', 4],
      ['eve', 9],
    ];
    const at = clock.now();
    for (const [i, [user, delta]] of gifts.entries()) {
      // zed and amy reach 5 at the same moment; dan later; amy then moves on to 9.
      clock.set(at + (i <= 1 ? 0 : i));
      expectOk(await gift(t, r.relayId, { room_id: room, delta, user_id: user }));
    }
    const all = [
      ['bob', 9, 1],
      ['amy', 9, 2],
      ['eve', 9, 3],
      ['zed', 5, 4],
      ['dan', 5, 5],
      ['cat', 2, 6],
    ];
    expect((await leaderboard(t, r, { room_id: room })).rows).toEqual(all);
    const seen: [string, number, number][] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await leaderboard(t, r, { room_id: room, limit: 2, cursor });
      seen.push(...page.rows);
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(seen).toEqual(all);
  });

  it('answers 404 for a room not of the relay or an unknown battle, 400 without room_id or with a bad cursor', async () => {
    const r = await pkRelay(t);
    const token = tokenFor(t, 'leaderboard_reader');
    const path = `/client/relay/${r.relayId}/contributions`;
    expectError(await t.call('GET', `${path}?room_id=room_elsewhere`, { token }), 404);
    expectError(
      await t.call('GET', `${path}?room_id=${r.anchors[0].liveId}&battle_no=1`, { token }),
      404,
    );
    expectError(await t.call('GET', path, { token }), 400);
    expectError(
      await t.call('GET', `${path}?room_id=${r.anchors[0].liveId}&cursor=bm90LWEtY3Vyc29y`, {
        token,
      }),
      400,
    );
    expectError(
      await t.call('GET', `/client/relay/relay_none/contributions?room_id=x`, { token }),
      404,
    );
  });

  it('names no MVP when nobody gave to the winning room in the battle', async () => {
    const r = await pkRelay(t);
    const [a, b] = r.anchors;
    expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 50, user_id: 'before' }));
    expectOk(await startBattle(t, r, a, { mode: 'auto', countdown_s: 0 }));
    expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 1 }));
    expectOk(await battleAction(t, r, b, 1, 'stop'));
    expect(await readBattle(t, r, 1)).toMatchObject({ winner_room_id: a.liveId, mvp: null });
  });
});
