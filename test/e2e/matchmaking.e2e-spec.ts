/**
 * Random PK (docs/concepts.md, "Random PK"): tickets, pools, the longest waiter first, the
 * relay opened through the start path, and every way a ticket stops waiting.
 */
import { LiveRoomService } from '../../src/live-room/live-room.service';
import { MatchService } from '../../src/match/match.service';
import { anchor, Anchor, relayEvents, tokenFor } from '../factories';
import { handClock } from '../factories/battle';
import { expectError, expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

const ENV = {
  RELAY_JOIN_TIMEOUT_S: '0',
  RELAY_INVITE_TIMEOUT_S: '0',
  TIMER_INTERVAL_MS: '10000',
  MATCH_TIMEOUT_S: '60',
  ROOM_HEARTBEAT_TIMEOUT_S: '60',
};

describe('random PK', () => {
  let t: TestApp;
  let clock: ReturnType<typeof handClock>;
  beforeAll(async () => {
    t = await startTestApp(ENV);
    clock = handClock(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const ask = (a: Anchor, body: Record<string, unknown> = {}, room = a.liveId) =>
    t.call('POST', '/client/relay/match', { token: a.token, body: { room_id: room, ...body } });
  const ticket = async (a: Anchor, matchId: string) =>
    expectOk(await t.call('GET', `/client/relay/match/${matchId}`, { token: a.token }));
  const session = async (relayId: string) =>
    expectOk(await t.call('GET', `/client/relay/${relayId}`, { token: tokenFor(t, 'reader') }));
  const room = async (a: Anchor) =>
    expectOk(await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token }));
  /** A pool of its own for each test, so tickets of other tests never pair with its anchors. */
  let pools = 0;
  const newPool = () => `pool_${process.pid}_${++pools}`;

  it('leaves a waiting ticket, then pairs the next anchor with it in an auto relay', async () => {
    const pool = newPool();
    const [alice, bob] = [await anchor(t), await anchor(t)];
    const created = clock.now();
    const waiting = expectOk(await ask(alice, { pool }));
    expect(waiting).toEqual({
      match_id: expect.stringMatching(/^match_/),
      app_id: 'default',
      room_id: alice.liveId,
      user_id: alice.userId,
      pool,
      state: 'waiting',
      reason: '',
      relay_id: '',
      created_at: expect.any(String),
      expires_at: expect.any(String),
    });
    expect((await room(alice)).pk_id).toBe('');
    expect(
      expectOk(await t.call('GET', `/client/relay/match?pool=${pool}`, { token: bob.token })),
    ).toEqual({ pool, waiting: 1 });

    clock.set(created + 5_000);
    const matched = expectOk(await ask(bob, { pool }));
    expect(matched).toMatchObject({
      room_id: bob.liveId,
      state: 'matched',
      relay_id: expect.stringMatching(/^relay_/),
      relay_status: 1,
      relay_token: expect.stringMatching(/^[^:]+:[^:]+:[^:]+$/),
      relay_tokens: [{ room_id: alice.liveId, relay_token: matched.relay_token }],
    });
    const s = await session(matched.relay_id);
    expect(s).toMatchObject({
      status: 1,
      origin: 'match',
      init_room_id: alice.liveId,
      init_user_id: alice.userId,
      recv_room_id: bob.liveId,
      recv_user_id: bob.userId,
    });
    expect(await ticket(alice, waiting.match_id)).toMatchObject({
      state: 'matched',
      relay_id: matched.relay_id,
    });
    expect([(await room(alice)).pk_id, (await room(bob)).pk_id]).toEqual([
      matched.relay_id,
      matched.relay_id,
    ]);
    const [first] = await relayEvents(t, matched.relay_id);
    expect(first.data).toMatchObject({ from: null, to: 1, session: { origin: 'match' } });
    expect(
      expectOk(await t.call('GET', `/client/relay/match?pool=${pool}`, { token: bob.token })),
    ).toEqual({ pool, waiting: 0 });
  });

  it('answers the waiting ticket again, its pool and expiry unchanged', async () => {
    const [pool, other] = [newPool(), newPool()];
    const alice = await anchor(t);
    const first = expectOk(await ask(alice, { pool, timeout_s: 30 }));
    const again = expectOk(await ask(alice, { pool: other, timeout_s: 600 }));
    expect(again).toEqual(first);
  });

  it('pairs the longest waiter first, and never an anchor with itself', async () => {
    const pool = newPool();
    const owner = await anchor(t);
    const second = await anchor(t, { userId: owner.userId });
    const first = expectOk(await ask(owner, { pool }));
    clock.advance(1);
    const later = expectOk(await ask(second, { pool }));
    expect(later.state).toBe('waiting');
    const carol = await anchor(t);
    const matched = expectOk(await ask(carol, { pool }));
    expect((await session(matched.relay_id)).init_room_id).toBe(owner.liveId);
    expect((await ticket(owner, first.match_id)).state).toBe('matched');
    expect((await ticket(second, later.match_id)).state).toBe('waiting');
  });

  it('keeps pools and apps apart', async () => {
    const [alice, bob] = [await anchor(t), await anchor(t)];
    const elsewhere = await anchor(t, { appId: 'other_app' });
    expect(expectOk(await ask(alice, { pool: newPool() })).state).toBe('waiting');
    expect(expectOk(await ask(bob, { pool: newPool() })).state).toBe('waiting');
    const pool = newPool();
    expect(expectOk(await ask(elsewhere, { pool })).state).toBe('waiting');
    const carol = await anchor(t);
    expect(expectOk(await ask(carol, { pool })).state).toBe('waiting');
  });

  it('refuses as a start does: 404 no room, 403 not its anchor, 601 not live or in a relay, 400 a bad body', async () => {
    const alice = await anchor(t);
    expectError(await ask(alice, {}, 'room_missing'), 404);
    const bob = await anchor(t);
    expectError(await ask(alice, {}, bob.liveId), 403);
    const idle = await anchor(t, { live: false });
    expectError(await ask(idle), 409, 601);
    const [x, y] = [await anchor(t), await anchor(t)];
    expectOk(
      await t.call('POST', '/client/relay/start', {
        token: x.token,
        body: { init_room_id: x.liveId, recv_room_id: y.liveId, recv_user_id: y.userId },
      }),
    );
    expectError(await ask(y), 409, 601);
    for (const body of [{ timeout_s: 4 }, { timeout_s: 601 }, { pool: 'a b' }, { extra: 1 }]) {
      expectError(await ask(alice, body), 400);
    }
  });

  it('answers a burst arriving together as if one came after another', async () => {
    const pool = newPool();
    const anchors = await Promise.all(Array.from({ length: 6 }, () => anchor(t)));
    const idle = await anchor(t, { live: false });
    const answers = await Promise.all([
      ...anchors.map((a) => ask(a, { pool })),
      ask(idle, { pool }),
      ask(anchors[0], { pool }),
    ]);
    expectError(answers[6], 409, 601);
    const byRoom = new Map<string, string>();
    for (const [i, a] of anchors.entries()) {
      const answer = expectOk(answers[i]);
      const mine = expectOk(
        await t.call('GET', `/client/relay/match/${answer.match_id}`, { token: a.token }),
      );
      expect(mine).toMatchObject({ room_id: a.liveId, state: 'matched' });
      const s = await session(mine.relay_id);
      const partner = [s.init_room_id, s.recv_room_id].find((r: string) => r !== a.liveId);
      byRoom.set(a.liveId, partner);
      // A matched answer carries the tokens for the caller's own place in the relay.
      if (answer.state === 'matched') {
        expect(answer.relay_tokens).toEqual([
          { room_id: partner, relay_token: answer.relay_token },
        ]);
      }
    }
    for (const [roomId, partner] of byRoom) expect(byRoom.get(partner)).toBe(roomId);
    const again = answers[7];
    if (again.body.code === 0) expect(again.body.data.room_id).toBe(anchors[0].liveId);
    else expectError(again, 409, 601);
  });

  describe('a ticket stops waiting', () => {
    it('when its anchor cancels it; a repeat answers it as it is, a matched one is 601', async () => {
      const pool = newPool();
      const alice = await anchor(t);
      const waiting = expectOk(await ask(alice, { pool }));
      const path = `/client/relay/match/${waiting.match_id}`;
      expectError(await t.call('DELETE', path, { token: tokenFor(t, 'someone_else') }), 403);
      const cancelled = expectOk(await t.call('DELETE', path, { token: alice.token }));
      expect(cancelled).toMatchObject({ state: 'cancelled', reason: 'cancelled' });
      expect(expectOk(await t.call('DELETE', path, { token: alice.token }))).toEqual(cancelled);
      expectError(
        await t.call('GET', '/client/relay/match/match_none', { token: alice.token }),
        404,
      );

      const again = expectOk(await ask(alice, { pool }));
      const bob = await anchor(t);
      expectOk(await ask(bob, { pool }));
      expectError(
        await t.call('DELETE', `/client/relay/match/${again.match_id}`, { token: alice.token }),
        409,
        601,
      );
    });

    it('at its expiry, once, whoever sweeps', async () => {
      const alice = await anchor(t);
      const at = clock.now();
      const waiting = expectOk(await ask(alice, { pool: newPool(), timeout_s: 5 }));
      const sweep = () => t.app.get(MatchService).expireDue(200);
      clock.set(at + 4_999);
      await sweep();
      expect((await ticket(alice, waiting.match_id)).state).toBe('waiting');
      clock.set(at + 5_000);
      await Promise.all([sweep(), sweep(), sweep()]);
      expect(await ticket(alice, waiting.match_id)).toMatchObject({
        state: 'timeout',
        reason: 'timeout',
      });
    });

    it('when its room enters another relay (room_busy) or stops being live (room_not_live)', async () => {
      const [alice, bob, carol] = [await anchor(t), await anchor(t), await anchor(t)];
      const busy = expectOk(await ask(alice, { pool: newPool() }));
      expectOk(
        await t.call('POST', '/client/relay/start', {
          token: bob.token,
          body: {
            init_room_id: bob.liveId,
            recv_room_id: alice.liveId,
            recv_user_id: alice.userId,
          },
        }),
      );
      expect(await ticket(alice, busy.match_id)).toMatchObject({
        state: 'cancelled',
        reason: 'room_busy',
      });
      const stopped = expectOk(await ask(carol, { pool: newPool() }));
      expectOk(await t.call('DELETE', `/client/live/room/${carol.liveId}`, { token: carol.token }));
      expect(await ticket(carol, stopped.match_id)).toMatchObject({
        state: 'cancelled',
        reason: 'room_not_live',
      });
      const silent = await anchor(t);
      const quiet = expectOk(await ask(silent, { pool: newPool() }));
      clock.advance(61_000);
      await t.app.get(LiveRoomService).stopSilent(200);
      expect((await ticket(silent, quiet.match_id)).reason).toBe('room_not_live');
    });
  });

  it('answers 401 without a token, and documents every answer', async () => {
    const answer: HttpAnswer = await t.call('POST', '/client/relay/match', {
      body: { room_id: 'x' },
    });
    expectError(answer, 401);
  });
});
