/**
 * Battles (docs/concepts.md, "Battles"): timed PK rounds over a relay at 4, every rule through
 * the API on the real database, with the app's clock moved by hand so that phase moves happen at
 * their due times without waiting for them.
 */
import {
  battleAction,
  gift,
  pkRelay,
  PkRelay,
  readBattle,
  startBattle,
  sweepBattles,
} from '../factories/battle';
import { anchor, relay, relayEvents, serverCall, tokenFor } from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';
import { FakeClock } from '../utils/fake-clock';

const S = 1000;
/** Timers that are not the subject stay out of the way; battles run on the clock of each test. */
const ENV = {
  ROOM_HEARTBEAT_TIMEOUT_S: '0',
  RELAY_JOIN_TIMEOUT_S: '0',
  TIMER_INTERVAL_MS: '10000',
  BATTLE_DURATION_S: '60',
  BATTLE_COUNTDOWN_S: '3',
  BATTLE_PUNISHMENT_S: '10',
  BATTLE_INVITE_TIMEOUT_S: '10',
};

/** [room_id, from, to, reason] of each relay.battle_changed of the relay, in order. */
async function battleMoves(t: TestApp, relayId: string) {
  return (await relayEvents(t, relayId))
    .filter((e) => e.type === 'relay.battle_changed')
    .map((e) => [e.data.battle_no, e.data.room_id, e.data.from, e.data.to, e.data.reason]);
}

describe('battles', () => {
  let t: TestApp;
  let clock: FakeClock;
  beforeAll(async () => {
    t = await startTestApp(ENV);
    clock = new FakeClock().attachTo(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('start', () => {
    it('invites the other joined rooms, the starter first, and shows it on the session', async () => {
      const r = await pkRelay(t, 3);
      const [a, b, c] = r.anchors;
      const battle = expectOk(await startBattle(t, r, b, { duration_s: 30 }));
      expect(battle).toMatchObject({
        relay_id: r.relayId,
        battle_no: 1,
        phase: 'invited',
        reason: '',
        mode: 'invite',
        rooms: [
          { room_id: b.liveId, user_id: b.userId, state: 'agreed', score: 0 },
          { room_id: a.liveId, user_id: a.userId, state: 'invited', score: 0 },
          { room_id: c.liveId, user_id: c.userId, state: 'invited', score: 0 },
        ],
        winner_room_id: '',
        mvp: null,
        countdown_s: 3,
        duration_s: 30,
        punishment_s: 10,
        fight_start_at: null,
        fight_end_at: null,
        ended_at: null,
      });
      const session = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}`, { token: a.token }),
      );
      expect(session.battle).toEqual(battle);
      expect(await battleMoves(t, r.relayId)).toEqual([[1, '', null, 'invited', '']]);
    });

    it('starts at once in auto mode, and the server API starts every joined room in relay order', async () => {
      const r = await pkRelay(t);
      const auto = expectOk(await startBattle(t, r, r.anchors[1], { mode: 'auto' }));
      expect(auto).toMatchObject({ phase: 'countdown', mode: 'auto' });
      expect(auto.rooms.map((x: any) => x.state)).toEqual(['agreed', 'agreed']);
      expect(auto.fight_start_at).not.toBeNull();

      const other = await pkRelay(t);
      const server = expectOk(
        await serverCall(t, 'POST', `/server/relay/${other.relayId}/battles`, { countdown_s: 0 }),
      );
      expect(server).toMatchObject({ phase: 'fighting', mode: 'auto' });
      expect(server.rooms.map((x: any) => x.room_id)).toEqual(other.anchors.map((x) => x.liveId));
    });

    it('takes only the rooms that have joined, and needs the relay at 4 and the caller joined', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const c = await anchor(t);
      const started = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: a.token,
          body: {
            init_room_id: a.liveId,
            recv_rooms: [b, c].map((x) => ({ room_id: x.liveId, user_id: x.userId })),
          },
        }),
      );
      const r: PkRelay = { relayId: started.relay_id, anchors: [a, b, c] };
      expectError(await startBattle(t, r, a), 409, 601);
      expectOk(await t.call('POST', `/client/relay/${r.relayId}/started`, { token: a.token }));
      expectOk(await t.call('POST', `/client/relay/${r.relayId}/started`, { token: b.token }));
      expectError(await startBattle(t, r, c), 409, 601);
      const battle = expectOk(await startBattle(t, r, a, { mode: 'auto' }));
      expect(battle.rooms.map((x: any) => x.room_id)).toEqual([a.liveId, b.liveId]);
    });

    it('refuses a second open battle (601), strangers (403), unknown relays (404) and bad bodies (400)', async () => {
      const r = await pkRelay(t);
      expectOk(await startBattle(t, r, r.anchors[0]));
      expectError(await startBattle(t, r, r.anchors[1]), 409, 601);
      const stranger = tokenFor(t, 'battle_stranger');
      expectError(
        await t.call('POST', `/client/relay/${r.relayId}/battles`, { token: stranger, body: {} }),
        403,
      );
      expectError(
        await t.call('POST', '/client/relay/relay_nope/battles', {
          token: r.anchors[0].token,
          body: {},
        }),
        404,
      );
      for (const body of [
        { duration_s: 9 },
        { duration_s: 3601 },
        { countdown_s: -1 },
        { countdown_s: 61 },
        { punishment_s: 601 },
        { mode: 'now' },
        { rounds: 3 },
      ]) {
        expectError(await startBattle(t, r, r.anchors[0], body as any), 400);
      }
    });
  });

  describe('answers', () => {
    it('moves to the countdown once the last room answers; repeats change nothing', async () => {
      const r = await pkRelay(t, 3);
      const [a, b, c] = r.anchors;
      expectOk(await startBattle(t, r, a));
      expect(expectOk(await battleAction(t, r, b, 1, 'accept')).phase).toBe('invited');
      expect(expectOk(await battleAction(t, r, b, 1, 'accept')).phase).toBe('invited');
      expectError(await battleAction(t, r, b, 1, 'reject'), 409, 601);
      const moved = expectOk(await battleAction(t, r, c, 1, 'reject'));
      expect(moved).toMatchObject({ phase: 'countdown' });
      expect(moved.rooms.map((x: any) => x.state)).toEqual(['agreed', 'agreed', 'rejected']);
      expect(moved.ranking.map((x: any) => x.room_id)).toEqual([a.liveId, b.liveId]);
      expect(expectOk(await battleAction(t, r, c, 1, 'reject')).phase).toBe('countdown');
      expectError(await battleAction(t, r, c, 1, 'accept'), 409, 601);
      expect(await battleMoves(t, r.relayId)).toEqual([
        [1, '', null, 'invited', ''],
        [1, b.liveId, 'invited', 'agreed', ''],
        [1, c.liveId, 'invited', 'rejected', 'rejected'],
        [1, '', 'invited', 'countdown', ''],
      ]);
    });

    it('refuses the starter answering for others (601), a stranger (403), an unknown battle (404)', async () => {
      const r = await pkRelay(t);
      const [a, b] = r.anchors;
      expectOk(await startBattle(t, r, a));
      expectError(await battleAction(t, r, a, 1, 'reject'), 409, 601);
      const stranger = { ...b, token: tokenFor(t, 'not_an_anchor') };
      expectError(await battleAction(t, r, stranger, 1, 'accept'), 403);
      expectError(await battleAction(t, r, b, 2, 'accept'), 404);
      expectError(
        await t.call('POST', `/client/relay/${r.relayId}/battles/first/accept`, { token: b.token }),
        400,
      );
    });

    it('rejects rooms that do not answer in time, and ends rejected or invite_timeout', async () => {
      const r = await pkRelay(t, 3);
      const [a, b] = r.anchors;
      const created = clock.now();
      expectOk(await startBattle(t, r, a));
      expectOk(await battleAction(t, r, b, 1, 'reject'));
      clock.set(created + 10 * S - 1);
      await sweepBattles(t);
      expect((await readBattle(t, r, 1)).phase).toBe('invited');
      clock.set(created + 10 * S);
      await sweepBattles(t);
      expect(await readBattle(t, r, 1)).toMatchObject({ phase: 'ended', reason: 'rejected' });

      const silent = await pkRelay(t);
      const at = clock.now();
      expectOk(await startBattle(t, silent, silent.anchors[0]));
      clock.set(at + 10 * S);
      await sweepBattles(t);
      expect(await readBattle(t, silent, 1)).toMatchObject({
        phase: 'ended',
        reason: 'invite_timeout',
        rooms: [{ state: 'agreed' }, { state: 'rejected' }],
      });
      expect((await battleMoves(t, silent.relayId)).slice(1)).toEqual([
        [1, silent.anchors[1].liveId, 'invited', 'rejected', 'invite_timeout'],
        [1, '', 'invited', 'ended', 'invite_timeout'],
      ]);
    });
  });

  describe('phases at their due times', () => {
    it('counts down, fights, settles, punishes and ends, each move recorded once', async () => {
      const r = await pkRelay(t);
      const [a, b] = r.anchors;
      const created = clock.now();
      expectOk(await startBattle(t, r, a, { mode: 'auto', duration_s: 20, punishment_s: 5 }));
      const fightStart = created + 3 * S;
      const fightEnd = fightStart + 20 * S;
      clock.set(fightStart - 1);
      await sweepBattles(t);
      expect((await readBattle(t, r, 1)).phase).toBe('countdown');
      clock.set(fightStart);
      await Promise.all([sweepBattles(t), sweepBattles(t)]);
      expect((await readBattle(t, r, 1)).phase).toBe('fighting');
      expectOk(await gift(t, r.relayId, { room_id: b.liveId, delta: 7, user_id: 'fan_b' }));
      clock.set(fightEnd);
      await Promise.all([sweepBattles(t), sweepBattles(t), sweepBattles(t)]);
      expect(await readBattle(t, r, 1)).toMatchObject({
        phase: 'punishment',
        winner_room_id: b.liveId,
        mvp: { room_id: b.liveId, user_id: 'fan_b', amount: 7 },
        ranking: [
          { room_id: b.liveId, score: 7, rank: 1 },
          { room_id: a.liveId, score: 0, rank: 2 },
        ],
      });
      clock.set(fightEnd + 5 * S);
      await sweepBattles(t);
      const ended = await readBattle(t, r, 1);
      expect(ended).toMatchObject({ phase: 'ended', reason: 'finished' });
      expect(await battleMoves(t, r.relayId)).toEqual([
        [1, '', null, 'countdown', ''],
        [1, '', 'countdown', 'fighting', ''],
        [1, '', 'fighting', 'punishment', ''],
        [1, '', 'punishment', 'ended', 'finished'],
      ]);
    });

    it('skips a countdown and a punishment of 0: no event for them', async () => {
      const r = await pkRelay(t);
      const created = clock.now();
      expectOk(
        await startBattle(t, r, r.anchors[0], { mode: 'auto', countdown_s: 0, punishment_s: 0 }),
      );
      clock.set(created + 60 * S);
      await sweepBattles(t);
      expect(await battleMoves(t, r.relayId)).toEqual([
        [1, '', null, 'fighting', ''],
        [1, '', 'fighting', 'ended', 'finished'],
      ]);
    });

    it('makes moves that fell due while nobody looked, each at its own time, in one sweep', async () => {
      const r = await pkRelay(t);
      const created = clock.now();
      expectOk(await startBattle(t, r, r.anchors[0], { mode: 'auto', duration_s: 10 }));
      clock.set(created + 3600 * S);
      await sweepBattles(t);
      const ended = await readBattle(t, r, 1);
      expect(ended.phase).toBe('ended');
      const [row] = await t.dataSource.query(
        'SELECT fight_end_at AS end, ended_at AS ended FROM relay_battle WHERE relay_id = ?',
        [r.relayId],
      );
      expect([Number(row.end), Number(row.ended)]).toEqual([created + 13 * S, created + 23 * S]);
    });
  });

  describe('ending early', () => {
    const started = async (phase: 'invited' | 'countdown' | 'fighting' | 'punishment') => {
      const r = await pkRelay(t);
      const created = clock.now();
      expectOk(
        await startBattle(t, r, r.anchors[0], {
          mode: phase === 'invited' ? 'invite' : 'auto',
          duration_s: 10,
        }),
      );
      const at = { invited: 0, countdown: 1, fighting: 4, punishment: 14 }[phase];
      clock.set(created + at * S);
      await sweepBattles(t);
      expect((await readBattle(t, r, 1)).phase).toBe(phase);
      return r;
    };

    it.each([
      ['invited', 0, 'cancelled', false],
      ['countdown', 1, 'stopped', false],
      ['fighting', 1, 'stopped', true],
      ['punishment', 0, 'stopped', true],
    ] as const)(
      'a stop from %s by room %i ends it %s (settled: %s)',
      async (phase, by, reason, settled) => {
        const r = await started(phase);
        const stopped = expectOk(await battleAction(t, r, r.anchors[by], 1, 'stop'));
        expect(stopped).toMatchObject({ phase: 'ended', reason });
        expect(stopped.winner_room_id === '' && stopped.mvp === null).toBe(true);
        const [row] = await t.dataSource.query(
          'SELECT settled FROM relay_battle WHERE relay_id = ?',
          [r.relayId],
        );
        expect(Number(row.settled) === 1).toBe(settled);
        expect(expectOk(await battleAction(t, r, r.anchors[by], 1, 'stop')).reason).toBe(reason);
      },
    );

    it("from invited, another room's stop is its refusal", async () => {
      const r = await started('invited');
      const answer = expectOk(await battleAction(t, r, r.anchors[1], 1, 'stop'));
      expect(answer).toMatchObject({ phase: 'ended', reason: 'rejected' });
    });

    it('the server API ends it with reason admin, and 404 for an unknown battle', async () => {
      const r = await started('fighting');
      const path = `/server/relay/${r.relayId}/battles`;
      expect(expectOk(await serverCall(t, 'POST', `${path}/1/stop`))).toMatchObject({
        phase: 'ended',
        reason: 'admin',
      });
      expectError(await serverCall(t, 'POST', `${path}/9/stop`), 404);
    });

    it('ends with the relay (relay_ended), settled first, after the relay event', async () => {
      const r = await started('fighting');
      expectOk(await gift(t, r.relayId, { room_id: r.anchors[0].liveId, delta: 3 }));
      expectOk(
        await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: r.anchors[0].token }),
      );
      expect(await readBattle(t, r, 1)).toMatchObject({
        phase: 'ended',
        reason: 'relay_ended',
        winner_room_id: r.anchors[0].liveId,
      });
      const events = await relayEvents(t, r.relayId);
      expect(events.slice(-2).map((e) => [e.type, e.data.to])).toEqual([
        ['relay.status_changed', 6],
        ['relay.battle_changed', 'ended'],
      ]);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    });

    it('ends when fewer than two of its rooms are still in the relay (room_left)', async () => {
      const r = await pkRelay(t, 4);
      const [a, b, c, d] = r.anchors;
      expectOk(await startBattle(t, r, a));
      expectOk(await battleAction(t, r, b, 1, 'accept'));
      expectOk(await battleAction(t, r, c, 1, 'accept'));
      expectOk(await battleAction(t, r, d, 1, 'reject'));
      expectOk(await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: c.token }));
      expect((await readBattle(t, r, 1)).phase).toBe('countdown');
      expectOk(await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: b.token }));
      expect(await readBattle(t, r, 1)).toMatchObject({ phase: 'ended', reason: 'room_left' });
      const session = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}`, { token: a.token }),
      );
      expect(session.status).toBe(4);
    });
  });

  describe('rematches and reads', () => {
    it('numbers battles 1, 2, 3 and lists them newest first, a page at a time', async () => {
      const r = await pkRelay(t);
      for (let i = 0; i < 3; i++) {
        expectOk(await startBattle(t, r, r.anchors[i % 2], { mode: 'auto' }));
        expectOk(await battleAction(t, r, r.anchors[0], i + 1, 'stop'));
      }
      const page = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}/battles?limit=2`, {
          token: tokenFor(t, 'any_reader'),
        }),
      );
      expect(page.list.map((b: any) => b.battle_no)).toEqual([3, 2]);
      const rest = expectOk(
        await t.call(
          'GET',
          `/client/relay/${r.relayId}/battles?limit=2&cursor=${page.next_cursor}`,
          {
            token: tokenFor(t, 'any_reader'),
          },
        ),
      );
      expect(rest).toEqual({
        list: [expect.objectContaining({ battle_no: 1 })],
        next_cursor: null,
      });
      const session = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}`, { token: r.anchors[1].token }),
      );
      expect(session.battle).toMatchObject({ battle_no: 3, phase: 'ended' });
      expectError(
        await t.call('GET', `/client/relay/${r.relayId}/battles/4`, { token: r.anchors[1].token }),
        404,
      );
    });

    it('starts a rematch once the previous battle is over by its due time, closing it first', async () => {
      const r = await pkRelay(t);
      const created = clock.now();
      expectOk(
        await startBattle(t, r, r.anchors[0], { mode: 'auto', duration_s: 10, punishment_s: 0 }),
      );
      clock.set(created + 13 * S);
      const next = expectOk(await startBattle(t, r, r.anchors[1], { mode: 'auto' }));
      expect(next.battle_no).toBe(2);
      expect(await battleMoves(t, r.relayId)).toEqual([
        [1, '', null, 'countdown', ''],
        [1, '', 'countdown', 'fighting', ''],
        [1, '', 'fighting', 'ended', 'finished'],
        [2, '', null, 'countdown', ''],
      ]);
    });

    it('shows a session without battles as battle: null', async () => {
      const r = await relay(t);
      const session = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token }),
      );
      expect(session.battle).toBeNull();
    });
  });

  describe('scores in play', () => {
    const fighting = async (rooms = 2) => {
      const r = await pkRelay(t, rooms);
      const created = clock.now();
      expectOk(await startBattle(t, r, r.anchors[0], { mode: 'auto', countdown_s: 0 }));
      return { r, fightEnd: created + 60 * S };
    };

    it('adds a delta to the battle and the relay; a score sets the battle and moves the relay by the difference', async () => {
      const { r } = await fighting();
      const [a, b] = r.anchors;
      expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 5 }));
      const set = expectOk(await gift(t, r.relayId, { room_id: a.liveId, score: 2 }));
      expect(set).toEqual({
        relay_id: r.relayId,
        scores: { [a.liveId]: 2, [b.liveId]: 0 },
        duplicate: false,
        battle: { battle_no: 1, scores: { [a.liveId]: 2, [b.liveId]: 0 } },
      });
      const events = (await relayEvents(t, r.relayId)).filter(
        (e) => e.type === 'relay.score_changed',
      );
      expect(events.map((e) => [e.data.delta, e.data.battle])).toEqual([
        [5, { battle_no: 1, scores: { [a.liveId]: 5, [b.liveId]: 0 } }],
        [-3, { battle_no: 1, scores: { [a.liveId]: 2, [b.liveId]: 0 } }],
      ]);
    });

    it('counts outside a fight, or for a room that takes no part, for the relay only', async () => {
      const r = await pkRelay(t, 3);
      const [a, b, c] = r.anchors;
      expectOk(await startBattle(t, r, a));
      expectOk(await battleAction(t, r, b, 1, 'accept'));
      expectOk(await battleAction(t, r, c, 1, 'reject'));
      const countdown = expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 4 }));
      expect(countdown.battle).toBeNull();
      clock.advance(3 * S);
      const outside = expectOk(await gift(t, r.relayId, { room_id: c.liveId, delta: 9 }));
      expect(outside).toMatchObject({ scores: { [c.liveId]: 9 }, battle: null });
      const inside = expectOk(await gift(t, r.relayId, { room_id: b.liveId, delta: 1 }));
      expect(inside.battle).toEqual({
        battle_no: 1,
        scores: { [a.liveId]: 0, [b.liveId]: 1, [c.liveId]: 0 },
      });
    });

    it('a score just after fight_end_at, before any timer ran, counts for the relay only', async () => {
      const { r, fightEnd } = await fighting();
      const [a] = r.anchors;
      expectOk(await gift(t, r.relayId, { room_id: a.liveId, delta: 10, user_id: 'fan' }));
      clock.set(fightEnd);
      const late = expectOk(
        await gift(t, r.relayId, { room_id: a.liveId, delta: 6, user_id: 'fan', score_id: 'late' }),
      );
      expect(late).toMatchObject({ scores: { [a.liveId]: 16 }, battle: null });
      const battle = await readBattle(t, r, 1);
      expect(battle).toMatchObject({
        phase: 'punishment',
        scores: { [a.liveId]: 10 },
        winner_room_id: a.liveId,
      });
      await sweepBattles(t);
      const events = await relayEvents(t, r.relayId);
      expect(
        events
          .filter((e) => e.type !== 'relay.status_changed')
          .map((e) => [e.type, e.data.to ?? e.data.delta]),
      ).toEqual([
        ['relay.battle_changed', 'fighting'],
        ['relay.score_changed', 10],
        ['relay.battle_changed', 'punishment'],
        ['relay.score_changed', 6],
      ]);
    });

    it('a duplicate score_id changes nothing anywhere and answers the battle in play', async () => {
      const { r } = await fighting();
      const [a] = r.anchors;
      const body = { room_id: a.liveId, delta: 8, user_id: 'fan_dup', score_id: 'gift_dup' };
      const first = expectOk(await gift(t, r.relayId, body));
      const again = expectOk(await gift(t, r.relayId, body));
      expect(again).toEqual({ ...first, duplicate: true });
      expect((await readBattle(t, r, 1)).scores[a.liveId]).toBe(8);
      const [row] = await t.dataSource.query(
        'SELECT SUM(amount) AS total FROM relay_contribution WHERE relay_id = ?',
        [r.relayId],
      );
      expect(Number(row.total)).toBe(16);
    });

    it('ranks ties together (1, 1, 3), and names no winner on a tie', async () => {
      const { r } = await fighting(3);
      const [a, b, c] = r.anchors;
      for (const [room, delta] of [
        [b, 5],
        [c, 5],
        [a, 1],
      ] as const) {
        expectOk(await gift(t, r.relayId, { room_id: room.liveId, delta }));
      }
      const stopped = expectOk(await battleAction(t, r, a, 1, 'stop'));
      expect(stopped.ranking).toEqual([
        { room_id: b.liveId, score: 5, rank: 1 },
        { room_id: c.liveId, score: 5, rank: 1 },
        { room_id: a.liveId, score: 1, rank: 3 },
      ]);
      expect([stopped.winner_room_id, stopped.mvp]).toEqual(['', null]);
    });
  });

  it('sends relay.battle_changed to webhooks and streams like every event, with the battle and the session', async () => {
    const r = await pkRelay(t);
    expectOk(await startBattle(t, r, r.anchors[0], { mode: 'auto' }));
    const [event] = (await relayEvents(t, r.relayId)).filter(
      (e) => e.type === 'relay.battle_changed',
    );
    expect(Object.keys(event.data).sort()).toEqual(
      ['battle', 'battle_no', 'from', 'reason', 'room_id', 'session', 'to'].sort(),
    );
    expect(event.data.session.battle).toEqual(event.data.battle);
    const history = expectOk(
      await t.call('GET', `/client/relay/${r.relayId}/events?limit=100`, {
        token: r.anchors[1].token,
      }),
    );
    expect(history.list.map((e: any) => e.type)).toContain('relay.battle_changed');
  });
});
