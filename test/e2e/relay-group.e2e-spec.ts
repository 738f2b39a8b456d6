/**
 * Group relays of two to nine rooms (docs/concepts.md, "Group relays"; docs/api.md, "Relays";
 * docs/events.md, "Room events"): the two forms of the start and their checks, the rooms of a
 * relay and their moves, the status the rooms give the relay, a token for every other room,
 * room events, scores and extends of rooms that went, the list, and the streams of a third room.
 * Timers are off (NO_TIMERS): what they do to rooms is another spec's subject.
 */
import {
  anchor,
  Anchor,
  expectedFrame,
  groupRelay,
  GroupFixture,
  NO_TIMERS,
  relay,
  relayEvents,
  serverCall,
  SESSION_FIELDS,
  statusMoves,
  tokenFor,
  uniqueUser,
} from '../factories';
import { decodeRoomAccess, qiniuRtc } from '../utils/qiniu-sdk';
import { frames, SseClient } from '../utils/sse-client';
import { expectError, expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';
import { pause } from '../utils/wait';

/** Timers off, and rooms never go offline however long the spec runs. */
const ENV = { ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' };
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const TOKEN_ANSWER_FIELDS = ['relay_id', 'relay_status', 'relay_token', 'relay_tokens'];
/** The states in which a room is still in its relay. */
const IN = ['invited', 'agreed', 'joined'];
const EMPTY_BODY_MESSAGE =
  'init_room_id is required; recv_room_id is required; recv_user_id is required';

/** Every room of a relay, initiator first, then the receivers in the order of the start. */
const members = (g: GroupFixture): Anchor[] => [g.init, ...g.recvs];

/**
 * The `rooms` a relay must show, one state per room in rooms order, written `state` or
 * `state:reason` (`'left:stopped'`).
 */
function roomsOf(g: GroupFixture, states: string[]) {
  expect(states).toHaveLength(members(g).length);
  return members(g).map((a, i) => {
    const [state, reason = ''] = states[i].split(':');
    return { room_id: a.liveId, user_id: a.userId, role: i === 0 ? 'init' : 'recv', state, reason };
  });
}

describe('group relays', () => {
  let t: TestApp;
  let reader: string;

  beforeAll(async () => {
    t = await startTestApp(ENV);
    reader = tokenFor(t, uniqueUser('reader'));
  });
  afterAll(async () => {
    await t?.close();
  });

  const start = (token: string, body: unknown) =>
    t.call('POST', '/client/relay/start', { token, body });

  const entry = (a: Anchor) => ({ room_id: a.liveId, user_id: a.userId });

  const post = (g: GroupFixture, action: string, who: Anchor, body?: unknown) =>
    t.call('POST', `/client/relay/${g.relayId}/${action}`, { token: who.token, body });

  /** A successful action; `status` is the relay_status it must answer. */
  async function act(g: GroupFixture, action: string, who: Anchor, status?: number) {
    const data = expectOk(await post(g, action, who));
    if (status !== undefined) expect(data.relay_status).toBe(status);
    return data;
  }

  const getToken = (g: GroupFixture, who: Anchor) =>
    t.call('GET', `/client/relay/${g.relayId}/token`, { token: who.token });

  async function read(relayId: string) {
    return expectOk(await t.call('GET', `/client/relay/${relayId}`, { token: reader }));
  }

  async function pkId(a: Anchor): Promise<string> {
    return expectOk(await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token }))
      .pk_id;
  }

  async function expectUnclaimed(...anchors: Anchor[]) {
    for (const a of anchors)
      expect({ room: a.liveId, pk_id: await pkId(a) }).toEqual({
        room: a.liveId,
        pk_id: '',
      });
  }

  /**
   * Reads the relay and checks its status, stop_reason and rooms, and that exactly the rooms
   * still in a relay that goes on show it in pk_id (every other room: "").
   */
  async function expectRelay(g: GroupFixture, status: number, states: string[], stopReason = '') {
    const s = await read(g.relayId);
    expect({ status: s.status, stop_reason: s.stop_reason, rooms: s.rooms }).toEqual({
      status,
      stop_reason: stopReason,
      rooms: roomsOf(g, states),
    });
    const ended = status === 5 || status === 6;
    const pk: string[] = [];
    for (const a of members(g)) pk.push(await pkId(a));
    expect(pk).toEqual(
      states.map((state) => (!ended && IN.includes(state.split(':')[0]) ? g.relayId : '')),
    );
    return s;
  }

  /** The request is refused with 601 and changes nothing: same session, no event. */
  async function expectRefused(g: GroupFixture, request: () => Promise<HttpAnswer>) {
    const [session, events] = [await read(g.relayId), await relayEvents(t, g.relayId)];
    expectError(await request(), 409, 601);
    expect(await read(g.relayId)).toEqual(session);
    expect(await relayEvents(t, g.relayId)).toEqual(events);
  }

  /** The action succeeds, answers `status`, and changes nothing: same session, no event. */
  async function expectNoChange(g: GroupFixture, action: string, who: Anchor, status: number) {
    const [session, events] = [await read(g.relayId), await relayEvents(t, g.relayId)];
    const data = await act(g, action, who, status);
    expect(await read(g.relayId)).toEqual(session);
    expect(await relayEvents(t, g.relayId)).toEqual(events);
    return data;
  }

  /** Runs a request that answers tokens and remembers when it ran, for the tokens' expiry. */
  async function timed(request: () => Promise<HttpAnswer>) {
    const before = Date.now();
    const data = expectOk(await request());
    return { data, before, after: Date.now() };
  }

  /**
   * `relay_tokens` has one token for each room of `others`, in that order, each byte for byte
   * what the qiniu SDK signs for that room and the caller; `relay_token` is the first or "".
   */
  function expectTokens(
    answer: { data: any; before: number; after: number },
    caller: Anchor,
    others: Anchor[],
  ) {
    const { data, before, after } = answer;
    expect(Object.keys(data).sort()).toEqual(TOKEN_ANSWER_FIELDS);
    const tokens: { room_id: string; relay_token: string }[] = data.relay_tokens;
    expect(tokens.map((x) => x.room_id)).toEqual(others.map((a) => a.liveId));
    const ttl = t.config.relay.tokenTtlS;
    const credentials = new qiniuRtc.Credentials(
      t.config.qiniu.accessKey,
      t.config.qiniu.secretKey,
    );
    for (const x of tokens) {
      expect(Object.keys(x).sort()).toEqual(['relay_token', 'room_id']);
      const access = decodeRoomAccess(x.relay_token);
      expect(access.expireAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) + ttl - 2);
      expect(access.expireAt).toBeLessThanOrEqual(Math.ceil(after / 1000) + ttl + 2);
      const official = credentials.signJson({
        appId: t.config.qiniu.rtcAppId,
        roomName: x.room_id,
        userId: caller.userId,
        expireAt: access.expireAt,
        permission: 'user',
      });
      expect(x.relay_token).toBe(official);
    }
    expect(data.relay_token).toBe(tokens.length > 0 ? tokens[0].relay_token : '');
  }

  /** Live anchors first, then a relay between them started with recv_rooms. */
  async function startGroup(
    init: Anchor,
    recvs: Anchor[],
    mode: 'auto' | 'invite' = 'auto',
  ): Promise<GroupFixture> {
    const data = expectOk(
      await start(init.token, { init_room_id: init.liveId, recv_rooms: recvs.map(entry), mode }),
    );
    return { init, recvs, relayId: data.relay_id, started: data };
  }

  const adminStop = (relayId: string) => serverCall(t, 'POST', `/server/relay/${relayId}/stop`);

  const score = (relayId: string, body: Record<string, unknown>) =>
    serverCall(t, 'POST', `/server/relay/${relayId}/score`, body);

  describe('POST /client/relay/start: the two forms', () => {
    /** The session of a two-room relay, whichever form started it. */
    const twoRooms = (g: GroupFixture, fields: Record<string, unknown>) => ({
      sid: g.relayId,
      relay_id: g.relayId,
      app_id: 'default',
      init_user_id: g.init.userId,
      init_room_id: g.init.liveId,
      recv_room_id: g.recvs[0].liveId,
      recv_user_id: g.recvs[0].userId,
      stop_reason: '',
      start_at: null,
      stop_at: null,
      created_at: expect.stringMatching(TIME),
      updated_at: expect.stringMatching(TIME),
      duration_s: null,
      extends: {},
      scores: { [g.init.liveId]: 0, [g.recvs[0].liveId]: 0 },
      winner_room_id: '',
      battle: null,
      origin: 'invite',
      ...fields,
    });

    /** A two-room relay started in the classic form, or with one entry in recv_rooms. */
    async function twoRoomRelay(form: 'classic' | 'recv_rooms', mode: 'auto' | 'invite') {
      const init = await anchor(t);
      const recv = await anchor(t);
      const receiver =
        form === 'classic'
          ? { recv_room_id: recv.liveId, recv_user_id: recv.userId }
          : { recv_rooms: [entry(recv)] };
      const answer = await timed(() =>
        start(init.token, { init_room_id: init.liveId, ...receiver, mode }),
      );
      const g = { init, recvs: [recv], relayId: answer.data.relay_id, started: answer.data };
      return { g, answer };
    }

    it('one entry in recv_rooms is the classic form: same answers, same sessions, two rooms, status events only', async () => {
      const ended: Record<string, unknown>[] = [];
      for (const form of ['classic', 'recv_rooms'] as const) {
        const { g, answer } = await twoRoomRelay(form, 'invite');
        const [init, recv] = members(g);
        expect(answer.data.relay_status).toBe(0);
        expectTokens(answer, init, []);
        expect(answer.data.relay_tokens).toEqual([]);
        const invited = await read(g.relayId);
        expect(Object.keys(invited).sort()).toEqual(SESSION_FIELDS);
        expect(invited).toEqual(
          twoRooms(g, { status: 0, rooms: roomsOf(g, ['agreed', 'invited']) }),
        );
        await expectRelay(g, 0, ['agreed', 'invited']);

        const accepted = await timed(() => post(g, 'accept', recv));
        expect(accepted.data.relay_status).toBe(1);
        expectTokens(accepted, recv, [init]);
        expectTokens(await timed(() => getToken(g, init)), init, [recv]);
        await act(g, 'started', init, 2);
        await act(g, 'started', recv, 4);
        await expectRelay(g, 4, ['joined', 'joined']);
        await act(g, 'stop', recv, 6);
        const s = await expectRelay(g, 6, ['joined', 'left:stopped'], 'stopped');
        expect(s).toEqual(
          twoRooms(g, {
            status: 6,
            stop_reason: 'stopped',
            start_at: expect.stringMatching(TIME),
            stop_at: expect.stringMatching(TIME),
            rooms: roomsOf(g, ['joined', 'left:stopped']),
          }),
        );
        ended.push(s);

        const rows = await relayEvents(t, g.relayId);
        expect(rows.map((e) => e.type)).toEqual(Array(5).fill('relay.status_changed'));
        expect(rows.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
        expect(statusMoves(rows)).toEqual([
          [null, 0, ''],
          [0, 1, ''],
          [1, 2, ''],
          [2, 4, ''],
          [4, 6, 'stopped'],
        ]);
        expect(rows[4].data.session).toEqual(s);
      }
      expect(Object.keys(ended[0])).toEqual(Object.keys(ended[1]));
    });

    it('in both forms an auto start answers the token for the receiver room, and a reject ends at 5 with the room rejected', async () => {
      for (const form of ['classic', 'recv_rooms'] as const) {
        const { g, answer } = await twoRoomRelay(form, 'auto');
        expect(answer.data.relay_status).toBe(1);
        expectTokens(answer, g.init, [g.recvs[0]]);
        expect(await read(g.relayId)).toEqual(
          twoRooms(g, {
            status: 1,
            start_at: expect.stringMatching(TIME),
            rooms: roomsOf(g, ['agreed', 'agreed']),
          }),
        );

        const invite = (await twoRoomRelay(form, 'invite')).g;
        expect(await act(invite, 'reject', invite.recvs[0], 5)).toEqual({
          relay_id: invite.relayId,
          relay_status: 5,
        });
        await expectRelay(invite, 5, ['agreed', 'rejected:rejected'], 'rejected');
        expect(statusMoves(await relayEvents(t, invite.relayId))).toEqual([
          [null, 0, ''],
          [0, 5, 'rejected'],
        ]);
        expect((await relayEvents(t, invite.relayId)).map((e) => e.type)).toEqual([
          'relay.status_changed',
          'relay.status_changed',
        ]);
      }
    });

    it('2, 3 and 8 receivers: every room claimed, rooms in order, recv_* are the first receiver, a token per receiver', async () => {
      for (const receivers of [2, 3, 8]) {
        const before = Date.now();
        const g = await groupRelay(t, receivers);
        const after = Date.now();
        expect(g.started.relay_status).toBe(1);
        expectTokens({ data: g.started, before, after }, g.init, g.recvs);
        const states = ['agreed', ...g.recvs.map(() => 'agreed')];
        const s = await expectRelay(g, 1, states);
        expect(Object.keys(s).sort()).toEqual(SESSION_FIELDS);
        expect(s).toMatchObject({
          init_room_id: g.init.liveId,
          init_user_id: g.init.userId,
          recv_room_id: g.recvs[0].liveId,
          recv_user_id: g.recvs[0].userId,
          start_at: expect.stringMatching(TIME),
          stop_at: null,
          winner_room_id: '',
        });
        expect(s.scores).toEqual(Object.fromEntries(members(g).map((a) => [a.liveId, 0])));
        const rows = await relayEvents(t, g.relayId);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          type: 'relay.status_changed',
          seq: 1,
          data: { from: null, to: 1, reason: '' },
        });
        expect(rows[0].data.session).toEqual(s);
      }
    });

    it('in invite mode every receiver room starts invited, the relay at 0 with no token', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      expect(g.started).toEqual({
        relay_id: g.relayId,
        relay_status: 0,
        relay_token: '',
        relay_tokens: [],
      });
      const s = await expectRelay(g, 0, ['agreed', 'invited', 'invited', 'invited']);
      expect(s).toMatchObject({
        recv_room_id: g.recvs[0].liveId,
        recv_user_id: g.recvs[0].userId,
        start_at: null,
        stop_at: null,
      });
    });
  });

  describe('POST /client/relay/start: refused, claiming nothing', () => {
    let init: Anchor;
    let b: Anchor;
    let c: Anchor;
    let d: Anchor;
    beforeAll(async () => {
      [init, b, c, d] = [await anchor(t), await anchor(t), await anchor(t), await anchor(t)];
    });
    afterEach(async () => {
      await expectUnclaimed(init, b, c, d);
    });

    const group = (recvRooms: unknown, extra: Record<string, unknown> = {}) =>
      start(init.token, { init_room_id: init.liveId, recv_rooms: recvRooms, ...extra });

    /** 400, and the message names `field` when one is given. */
    async function expect400(answer: Promise<HttpAnswer>, field?: string) {
      const a = await answer;
      expectError(a, 400, 400);
      if (field !== undefined) expect(a.body.message).toContain(field);
    }

    it('400 for both forms at once', async () => {
      await expect400(group([entry(b)], { recv_room_id: b.liveId, recv_user_id: b.userId }));
      await expect400(group([entry(b), entry(c)], { recv_room_id: d.liveId }));
    });

    it('400 for neither form; an empty body still names the three classic fields', async () => {
      await expect400(start(init.token, { init_room_id: init.liveId }));
      await expect400(start(init.token, { init_room_id: init.liveId, mode: 'invite' }));
      const empty = await start(init.token, {});
      expectError(empty, 400, 400);
      expect(empty.body.message).toBe(EMPTY_BODY_MESSAGE);
    });

    it('400 for 0 entries and for 9 entries (8 pass validation)', async () => {
      await expect400(group([]), 'recv_rooms');
      const fake = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          room_id: `room_missing_g${i}`,
          user_id: `user_missing_g${i}`,
        }));
      await expect400(group(fake(9)), 'recv_rooms');
      // Eight is allowed: the request gets as far as looking the rooms up.
      expectError(await group(fake(8)), 404, 404);
    });

    it('400 for a room twice, and for a receiver room equal to init_room_id', async () => {
      await expect400(group([entry(b), { room_id: b.liveId, user_id: c.userId }]));
      await expect400(group([entry(b), entry(c), entry(b)]));
      await expect400(group([{ room_id: init.liveId, user_id: b.userId }]));
      await expect400(group([entry(b), { room_id: init.liveId, user_id: c.userId }]));
    });

    it('400 for a user_id equal to the caller, and for a user_id twice', async () => {
      await expect400(group([entry(b), { room_id: c.liveId, user_id: init.userId }]));
      await expect400(group([{ room_id: b.liveId, user_id: init.userId }]));
      await expect400(group([entry(b), { room_id: c.liveId, user_id: b.userId }]));
      await expect400(group([entry(c), entry(d), { room_id: b.liveId, user_id: d.userId }]));
    });

    it('400 for a malformed entry, named by its index', async () => {
      await expect400(
        group([entry(b), { room_id: 'bad id!', user_id: c.userId }]),
        'recv_rooms.1.room_id',
      );
      await expect400(
        group([entry(b), entry(c), { room_id: d.liveId, user_id: 'x'.repeat(65) }]),
        'recv_rooms.2.user_id',
      );
      await expect400(group([entry(b), entry(c), { room_id: d.liveId }]), 'recv_rooms.2.user_id');
      await expect400(group([{ user_id: b.userId }]), 'recv_rooms.0.room_id');
      await expect400(group([entry(b), { ...entry(c), colour: 'red' }]), 'colour');
      await expect400(group([entry(b), 'x']));
      await expect400(group([entry(b), null]));
      await expect400(group(entry(b)), 'recv_rooms');
      await expect400(group('x'), 'recv_rooms');
    });

    it('404 when the Nth receiver room is missing or has another anchor', async () => {
      for (let n = 0; n < 3; n++) {
        const missing = [entry(b), entry(c), entry(d)];
        missing[n] = { room_id: `room_missing_n${n}`, user_id: uniqueUser('nobody') };
        const answer = await group(missing);
        expectError(answer, 404, 404);
        expect(answer.body.message).toContain(`room_missing_n${n}`);

        const otherAnchor = [entry(b), entry(c), entry(d)];
        const wrong = [b, c, d][n];
        otherAnchor[n] = { room_id: wrong.liveId, user_id: uniqueUser('impostor') };
        const refused = await group(otherAnchor);
        expectError(refused, 404, 404);
        expect(refused.body.message).toContain(wrong.liveId);
      }
    });

    it('the first failing receiver in list order answers', async () => {
      const wrongAnchor = { room_id: c.liveId, user_id: uniqueUser('impostor') };
      const missing = { room_id: 'room_missing_order', user_id: uniqueUser('nobody') };
      const first = await group([entry(b), wrongAnchor, missing]);
      expectError(first, 404, 404);
      expect(first.body.message).toContain(c.liveId);
      expect(first.body.message).not.toContain('room_missing_order');
      const second = await group([entry(b), missing, wrongAnchor]);
      expectError(second, 404, 404);
      expect(second.body.message).toContain('room_missing_order');
      expect(second.body.message).not.toContain(c.liveId);
    });

    it('every receiver is looked up (404) before any room is checked live (601)', async () => {
      const idle = await anchor(t, { live: false });
      const answer = await group([
        entry(idle),
        entry(b),
        { room_id: 'room_missing_z', user_id: 'z' },
      ]);
      expectError(answer, 404, 404);
      await expectUnclaimed(idle);
    });

    it('601 when a receiver room is not live; the message names it', async () => {
      const idle = await anchor(t, { live: false });
      const answer = await group([entry(b), entry(c), entry(idle)]);
      expectError(answer, 409, 601);
      expect(answer.body.message).toContain(idle.liveId);
      await expectUnclaimed(idle);
    });

    it('601 when the last receiver room is already relaying: no room is claimed, its relay keeps it', async () => {
      const busy = await relay(t);
      const answer = await group([entry(b), entry(c), entry(busy.recv)]);
      expectError(answer, 409, 601);
      expect(answer.body.message).toContain(busy.recv.liveId);
      expect(await pkId(busy.recv)).toBe(busy.relayId);
      // A room still invited to a group relay is relaying too.
      const invited = await groupRelay(t, 2, { mode: 'invite' });
      expectError(await group([entry(b), entry(invited.recvs[1])]), 409, 601);
      expect(await pkId(invited.recvs[1])).toBe(invited.relayId);
    });

    it('rooms not live (601) are checked before rooms relaying (601), across all receivers', async () => {
      const busy = await relay(t);
      const idle = await anchor(t, { live: false });
      const answer = await group([entry(busy.recv), entry(b), entry(idle)]);
      expectError(answer, 409, 601);
      expect(answer.body.message).toContain(idle.liveId);
      expect(answer.body.message).not.toContain(busy.recv.liveId);
      expect(await pkId(busy.recv)).toBe(busy.relayId);
      await expectUnclaimed(idle);
    });
  });

  describe('rooms and the relay status', () => {
    it('0 until a receiver agrees, then 1; 2 when the initiator joins; 4 with a joined receiver; late answers keep it there', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [init, a, b, c] = members(g);
      await expectRelay(g, 0, ['agreed', 'invited', 'invited', 'invited']);

      const accepted = await timed(() => post(g, 'accept', a));
      expect(accepted.data.relay_status).toBe(1);
      expectTokens(accepted, a, [init]);
      const s1 = await expectRelay(g, 1, ['agreed', 'agreed', 'invited', 'invited']);
      expect(s1.start_at).toMatch(TIME);

      expect(await act(g, 'started', init, 2)).toEqual({ relay_id: g.relayId, relay_status: 2 });
      await expectRelay(g, 2, ['joined', 'agreed', 'invited', 'invited']);

      // b accepts late: the relay stays at 2, and b gets tokens for both rooms agreed or joined.
      const late = await timed(() => post(g, 'accept', b));
      expect(late.data.relay_status).toBe(2);
      expectTokens(late, b, [init, a]);
      await expectRelay(g, 2, ['joined', 'agreed', 'agreed', 'invited']);

      await act(g, 'started', a, 4);
      await expectRelay(g, 4, ['joined', 'joined', 'agreed', 'invited']);
      expect(await act(g, 'reject', c, 4)).toEqual({ relay_id: g.relayId, relay_status: 4 });
      await expectRelay(g, 4, ['joined', 'joined', 'agreed', 'rejected:rejected']);
      await act(g, 'started', b, 4);
      const s4 = await expectRelay(g, 4, ['joined', 'joined', 'joined', 'rejected:rejected']);
      expect(s4).toMatchObject({ start_at: s1.start_at, stop_at: null });
      expect(statusMoves(await relayEvents(t, g.relayId))).toEqual([
        [null, 0, ''],
        [0, 1, ''],
        [1, 2, ''],
        [2, 4, ''],
      ]);
    });

    it('3 when a receiver joins first; it stays 3 when that receiver leaves and the initiator joins; 4 when another receiver joins', async () => {
      const g = await groupRelay(t, 2);
      const [init, a, b] = members(g);
      await act(g, 'started', a, 3);
      await expectRelay(g, 3, ['agreed', 'joined', 'agreed']);
      expect(await act(g, 'stop', a, 3)).toEqual({ relay_id: g.relayId, relay_status: 3 });
      await expectRelay(g, 3, ['agreed', 'left:stopped', 'agreed']);
      await act(g, 'started', init, 3);
      await expectRelay(g, 3, ['joined', 'left:stopped', 'agreed']);
      await act(g, 'started', b, 4);
      await expectRelay(g, 4, ['joined', 'left:stopped', 'joined']);
      expect(statusMoves(await relayEvents(t, g.relayId))).toEqual([
        [null, 1, ''],
        [1, 3, ''],
        [3, 4, ''],
      ]);
    });

    it('4 stays 4 while rooms leave and two are in; the relay ends (6) with the reason of the last room to go', async () => {
      const g = await groupRelay(t, 3);
      const [init, a, b, c] = members(g);
      await act(g, 'started', init, 2);
      for (const r of [a, b, c]) await act(g, 'started', r, 4);
      await act(g, 'stop', a, 4);
      await expectRelay(g, 4, ['joined', 'left:stopped', 'joined', 'joined']);
      await act(g, 'stop', c, 4);
      await expectRelay(g, 4, ['joined', 'left:stopped', 'joined', 'left:stopped']);
      // b's live ends: one room is left in, so the relay ends with b's reason.
      expectOk(await t.call('DELETE', `/client/live/room/${b.liveId}`, { token: b.token }));
      const s = await expectRelay(
        g,
        6,
        ['joined', 'left:stopped', 'left:room_stopped', 'left:stopped'],
        'room_stopped',
      );
      expect(s.stop_at).toMatch(TIME);
      expect(statusMoves(await relayEvents(t, g.relayId))).toEqual([
        [null, 1, ''],
        [1, 2, ''],
        [2, 4, ''],
        [4, 6, 'room_stopped'],
      ]);
    });

    it('every receiver rejecting ends the relay at 5 rejected', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [, a, b, c] = members(g);
      await act(g, 'reject', a, 0);
      await expectRelay(g, 0, ['agreed', 'rejected:rejected', 'invited', 'invited']);
      await act(g, 'reject', b, 0);
      await expectRelay(g, 0, ['agreed', 'rejected:rejected', 'rejected:rejected', 'invited']);
      await act(g, 'reject', c, 5);
      const s = await expectRelay(
        g,
        5,
        ['agreed', 'rejected:rejected', 'rejected:rejected', 'rejected:rejected'],
        'rejected',
      );
      expect(s).toMatchObject({ start_at: null, stop_at: expect.stringMatching(TIME) });
    });

    it('fewer than two rooms in and none invited ends at 6 with the reason of the room that went last', async () => {
      // One rejects, the other agrees and leaves: 6 stopped.
      const g = await groupRelay(t, 2, { mode: 'invite' });
      await act(g, 'reject', g.recvs[0], 0);
      await act(g, 'accept', g.recvs[1], 1);
      await act(g, 'stop', g.recvs[1], 6);
      await expectRelay(g, 6, ['agreed', 'rejected:rejected', 'left:stopped'], 'stopped');

      // One agrees and leaves, the other then rejects: not every receiver rejected, so 6.
      const h = await groupRelay(t, 2, { mode: 'invite' });
      await act(h, 'accept', h.recvs[0], 1);
      await act(h, 'stop', h.recvs[0], 1);
      await expectRelay(h, 1, ['agreed', 'left:stopped', 'invited']);
      await act(h, 'reject', h.recvs[1], 6);
      await expectRelay(h, 6, ['agreed', 'left:stopped', 'rejected:rejected'], 'rejected');
      expect(statusMoves(await relayEvents(t, h.relayId))).toEqual([
        [null, 0, ''],
        [0, 1, ''],
        [1, 6, 'rejected'],
      ]);
    });

    it('repeats succeed and change nothing: accept while agreed or joined, started while joined, reject while rejected, stop of a room no longer in', async () => {
      const g = await groupRelay(t, 3);
      const [init, a, b, c] = members(g);
      const before = Date.now();
      const again = await expectNoChange(g, 'accept', a, 1);
      expectTokens({ data: again, before, after: Date.now() }, a, [init, b, c]);
      await act(g, 'started', a, 3);
      await expectNoChange(g, 'accept', a, 3);
      await expectNoChange(g, 'started', a, 3);
      await act(g, 'stop', b, 3);
      await expectNoChange(g, 'stop', b, 3);
      await expectRelay(g, 3, ['agreed', 'joined', 'left:stopped', 'agreed']);

      const h = await groupRelay(t, 2, { mode: 'invite' });
      await act(h, 'accept', h.recvs[1], 1);
      await act(h, 'reject', h.recvs[0], 1);
      expect(await expectNoChange(h, 'reject', h.recvs[0], 1)).toEqual({
        relay_id: h.relayId,
        relay_status: 1,
      });
      await expectNoChange(h, 'stop', h.recvs[0], 1);
      await expectRelay(h, 1, ['agreed', 'rejected:rejected', 'agreed']);
    });

    it("601 for moves the room's state does not allow, and for started at 0; nothing changes", async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [init, a, b, c] = members(g);
      // At 0: the initiator's room is agreed, but nobody may start yet.
      await expectRefused(g, () => post(g, 'started', init));
      await expectRefused(g, () => post(g, 'started', a));

      await act(g, 'accept', a, 1);
      await act(g, 'reject', b, 1);
      await act(g, 'accept', c, 1);
      await act(g, 'stop', c, 1);
      await expectRelay(g, 1, ['agreed', 'agreed', 'rejected:rejected', 'left:stopped']);

      // rejected: no accept, no started.
      await expectRefused(g, () => post(g, 'accept', b));
      await expectRefused(g, () => post(g, 'started', b));
      // left: no accept, no reject, no started.
      await expectRefused(g, () => post(g, 'accept', c));
      await expectRefused(g, () => post(g, 'reject', c));
      await expectRefused(g, () => post(g, 'started', c));
      // agreed, then joined: no reject.
      await expectRefused(g, () => post(g, 'reject', a));
      await act(g, 'started', a, 3);
      await expectRefused(g, () => post(g, 'reject', a));
      await expectRelay(g, 3, ['agreed', 'joined', 'rejected:rejected', 'left:stopped']);

      // invited: no started, even once the relay is at 1 or more.
      const h = await groupRelay(t, 2, { mode: 'invite' });
      await act(h, 'accept', h.recvs[0], 1);
      await expectRefused(h, () => post(h, 'started', h.recvs[1]));
      await expectRelay(h, 1, ['agreed', 'agreed', 'invited']);
    });

    it('a room that rejects or leaves is released at once and can take part in another relay', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [, a, b, c] = members(g);
      await act(g, 'reject', a, 0);
      await expectRelay(g, 0, ['agreed', 'rejected:rejected', 'invited', 'invited']);
      await act(g, 'accept', b, 1);
      await act(g, 'stop', b, 1);
      await expectRelay(g, 1, ['agreed', 'rejected:rejected', 'left:stopped', 'invited']);

      // a starts a relay of its own; b is invited to another group relay.
      const partner = await anchor(t);
      const own = expectOk(
        await start(a.token, {
          init_room_id: a.liveId,
          recv_room_id: partner.liveId,
          recv_user_id: partner.userId,
        }),
      );
      expect(await pkId(a)).toBe(own.relay_id);
      const host = await anchor(t);
      const other = await startGroup(host, [b, await anchor(t)], 'invite');
      expect(await pkId(b)).toBe(other.relayId);
      // c is still in g, and cannot be taken.
      const third = await anchor(t);
      expectError(
        await start(third.token, { init_room_id: third.liveId, recv_rooms: [entry(c)] }),
        409,
        601,
      );
      expect(await pkId(c)).toBe(g.relayId);
      expect((await read(g.relayId)).status).toBe(1);
    });

    it("the initiator's stop ends the relay: cancelled at 0, stopped later; its room leaves, the others keep their state", async () => {
      const g = await groupRelay(t, 2, { mode: 'invite' });
      expect(await act(g, 'stop', g.init, 6)).toEqual({ relay_id: g.relayId, relay_status: 6 });
      await expectRelay(g, 6, ['left:stopped', 'invited', 'invited'], 'cancelled');

      const h = await groupRelay(t, 2);
      await act(h, 'started', h.recvs[0], 3);
      await act(h, 'stop', h.init, 6);
      const s = await expectRelay(h, 6, ['left:stopped', 'joined', 'agreed'], 'stopped');
      expect(s.stop_at).toMatch(TIME);
    });

    it('on an ended relay: accept, started and a token are 601, reject only repeats, stop changes nothing', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [init, a, b, c] = members(g);
      await act(g, 'reject', a, 0);
      await act(g, 'accept', b, 1);
      await act(g, 'stop', init, 6);
      const states = ['left:stopped', 'rejected:rejected', 'agreed', 'invited'];
      await expectRelay(g, 6, states, 'stopped');

      await expectNoChange(g, 'reject', a, 6);
      await expectRefused(g, () => post(g, 'accept', a));
      await expectRefused(g, () => post(g, 'accept', c));
      await expectRefused(g, () => post(g, 'reject', c));
      await expectRefused(g, () => post(g, 'reject', b));
      await expectRefused(g, () => post(g, 'started', b));
      await expectRefused(g, () => post(g, 'started', init));
      await expectRefused(g, () => getToken(g, b));
      await expectRefused(g, () => post(g, 'extends', b, { extends: { k: 'v' } }));
      for (const who of [init, a, b, c]) await expectNoChange(g, 'stop', who, 6);
      await expectRelay(g, 6, states, 'stopped');
    });

    it('an admin stop ends the relay with reason admin; rooms keep their state and are all released', async () => {
      const g = await groupRelay(t, 3);
      const [init, a, b] = members(g);
      await act(g, 'started', init, 2);
      await act(g, 'started', a, 4);
      await act(g, 'stop', b, 4);
      const before = await relayEvents(t, g.relayId);
      expect(expectOk(await adminStop(g.relayId))).toMatchObject({
        relay_id: g.relayId,
        relay_status: 6,
      });
      await expectRelay(g, 6, ['joined', 'joined', 'left:stopped', 'agreed'], 'admin');
      const rows = await relayEvents(t, g.relayId);
      // One status change and no room move.
      expect(rows.slice(before.length).map((e) => [e.type, e.data.from, e.data.to])).toEqual([
        ['relay.status_changed', 4, 6],
      ]);
      expect(rows[rows.length - 1].data.reason).toBe('admin');
    });
  });

  describe('tokens', () => {
    it('start, accept and GET token answer a token for every other room agreed or joined, in rooms order', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [init, a, b, c] = members(g);
      const token = (who: Anchor) => timed(() => getToken(g, who));

      expectTokens(await timed(() => post(g, 'accept', a)), a, [init]);
      expectTokens(await token(init), init, [a]);
      expectTokens(await token(a), a, [init]);
      expectTokens(await timed(() => post(g, 'accept', b)), b, [init, a]);
      await act(g, 'reject', c, 1);
      expectTokens(await token(init), init, [a, b]);
      expectTokens(await token(a), a, [init, b]);
      expectTokens(await token(b), b, [init, a]);
      // Joined rooms still count; a room that left no longer does.
      await act(g, 'started', a, 3);
      await act(g, 'started', init, 4);
      expectTokens(await token(b), b, [init, a]);
      await act(g, 'stop', a, 4);
      expectTokens(await token(init), init, [b]);
      expectTokens(await token(b), b, [init]);
      const answer = await token(b);
      expect(answer.data).toMatchObject({ relay_id: g.relayId, relay_status: 4 });
    });

    it('GET token is 601 for a caller whose room is invited, rejected or left, and for everyone at 0', async () => {
      const g = await groupRelay(t, 3, { mode: 'invite' });
      const [init, a, b, c] = members(g);
      await expectRefused(g, () => getToken(g, init));
      await expectRefused(g, () => getToken(g, a));
      await act(g, 'accept', a, 1);
      await expectRefused(g, () => getToken(g, b));
      await act(g, 'reject', b, 1);
      await expectRefused(g, () => getToken(g, b));
      await act(g, 'accept', c, 1);
      await act(g, 'stop', c, 1);
      await expectRefused(g, () => getToken(g, c));
      expectTokens(await timed(() => getToken(g, init)), init, [a]);
      expectTokens(await timed(() => getToken(g, a)), a, [init]);
    });
  });

  describe('events', () => {
    const roomChanged = (
      g: GroupFixture,
      who: Anchor,
      from: string,
      to: string,
      reason: string,
      status: number,
    ) => ({
      type: 'relay.room_changed',
      relay_id: g.relayId,
      app_id: 'default',
      data: {
        room_id: who.liveId,
        user_id: who.userId,
        from,
        to,
        reason,
        session: expect.objectContaining({ status, stop_reason: '' }),
      },
    });
    const statusChanged = (from: number | null, to: number, reason = '') => ({
      type: 'relay.status_changed',
      data: { from, to, reason },
    });

    it('a 3-room relay records each room move as relay.room_changed, before the status change it causes, seq without gaps', async () => {
      const g = await groupRelay(t, 2, { mode: 'invite' });
      const [init, a, b] = members(g);
      await act(g, 'accept', a, 1);
      await act(g, 'reject', b, 1);
      await act(g, 'started', init, 2);
      await act(g, 'started', a, 4);
      expectOk(await post(g, 'extends', a, { extends: { k: 'v' } }));
      await act(g, 'stop', a, 6);

      const rows = await relayEvents(t, g.relayId);
      expect(rows.map((e) => e.seq)).toEqual(rows.map((_, i) => i + 1));
      expect(rows).toMatchObject([
        statusChanged(null, 0),
        roomChanged(g, a, 'invited', 'agreed', '', 0),
        statusChanged(0, 1),
        roomChanged(g, b, 'invited', 'rejected', 'rejected', 1),
        roomChanged(g, init, 'agreed', 'joined', '', 1),
        statusChanged(1, 2),
        roomChanged(g, a, 'agreed', 'joined', '', 2),
        statusChanged(2, 4),
        { type: 'relay.extends_updated', data: { changed: { k: 'v' } } },
        roomChanged(g, a, 'joined', 'left', 'stopped', 4),
        statusChanged(4, 6, 'stopped'),
      ]);
      for (const e of rows.filter((row) => row.type === 'relay.room_changed')) {
        expect(Object.keys(e.data).sort()).toEqual(
          ['from', 'reason', 'room_id', 'session', 'to', 'user_id'].sort(),
        );
        // The session right after the room moved: that room's state is already the new one.
        const moved = e.data.session.rooms.find((r: any) => r.room_id === e.data.room_id);
        expect(moved).toMatchObject({ state: e.data.to, reason: e.data.reason });
      }
      expect(rows[1].data.session.rooms).toEqual(roomsOf(g, ['agreed', 'agreed', 'invited']));
      expect(rows[9].data.session.rooms).toEqual(
        roomsOf(g, ['joined', 'left:stopped', 'rejected:rejected']),
      );
      expect(rows[rows.length - 1].data.session).toEqual(await read(g.relayId));
    });

    it("the initiator's stop records its room leaving, then the end; a room's live ending records its move", async () => {
      const g = await groupRelay(t, 2, { mode: 'invite' });
      await act(g, 'stop', g.init, 6);
      expect(await relayEvents(t, g.relayId)).toMatchObject([
        statusChanged(null, 0),
        roomChanged(g, g.init, 'agreed', 'left', 'stopped', 0),
        statusChanged(0, 6, 'cancelled'),
      ]);

      const h = await groupRelay(t, 2);
      const b = h.recvs[1];
      expectOk(await t.call('DELETE', `/client/live/room/${b.liveId}`, { token: b.token }));
      await expectRelay(h, 1, ['agreed', 'agreed', 'left:room_stopped']);
      await act(h, 'stop', h.init, 6);
      const rows = await relayEvents(t, h.relayId);
      expect(rows.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(rows).toMatchObject([
        statusChanged(null, 1),
        roomChanged(h, b, 'agreed', 'left', 'room_stopped', 1),
        roomChanged(h, h.init, 'agreed', 'left', 'stopped', 1),
        statusChanged(1, 6, 'stopped'),
      ]);
    });

    it('no-ops and refused moves record nothing in a 3-room relay', async () => {
      const g = await groupRelay(t, 2);
      const [init, a, b] = members(g);
      const before = await relayEvents(t, g.relayId);
      await expectNoChange(g, 'accept', a, 1);
      await expectRefused(g, () => post(g, 'reject', b));
      await act(g, 'started', init, 2);
      await expectNoChange(g, 'started', init, 2);
      expect((await relayEvents(t, g.relayId)).length).toBe(before.length + 2);
    });
  });

  describe('scores, extends and reading by a room that went', () => {
    it('scores has every room; a room that left or rejected keeps its score and scoring it is 601', async () => {
      const g = await groupRelay(t, 3);
      const [init, a, b, c] = members(g);
      expect((await read(g.relayId)).scores).toEqual({
        [init.liveId]: 0,
        [a.liveId]: 0,
        [b.liveId]: 0,
        [c.liveId]: 0,
      });
      expectOk(await score(g.relayId, { room_id: a.liveId, delta: 5 }));
      expectOk(await score(g.relayId, { room_id: b.liveId, delta: 3 }));
      await act(g, 'stop', a, 1);
      await expectRefused(g, () => score(g.relayId, { room_id: a.liveId, delta: 1 }));
      await expectRefused(g, () => score(g.relayId, { room_id: a.liveId, score: 100 }));
      expect(expectOk(await score(g.relayId, { room_id: c.liveId, delta: 2 }))).toEqual({
        relay_id: g.relayId,
        scores: { [init.liveId]: 0, [a.liveId]: 5, [b.liveId]: 3, [c.liveId]: 2 },
        duplicate: false,
        battle: null,
      });
      expect((await read(g.relayId)).scores[a.liveId]).toBe(5);

      const h = await groupRelay(t, 2, { mode: 'invite' });
      await act(h, 'accept', h.recvs[0], 1);
      await act(h, 'reject', h.recvs[1], 1);
      await expectRefused(h, () => score(h.relayId, { room_id: h.recvs[1].liveId, delta: 1 }));
      expectOk(await score(h.relayId, { room_id: h.recvs[0].liveId, delta: 1 }));
    });

    it('any receiver still in may update extends; one whose room left gets 601 and may still read the relay', async () => {
      const g = await groupRelay(t, 2);
      const [, a, b] = members(g);
      expect(expectOk(await post(g, 'extends', b, { extends: { from_b: '1' } }))).toEqual({
        relay_id: g.relayId,
        extends: { from_b: '1' },
      });
      await act(g, 'stop', a, 1);
      await expectRefused(g, () => post(g, 'extends', a, { extends: { from_a: '1' } }));
      const s = expectOk(await t.call('GET', `/client/relay/${g.relayId}`, { token: a.token }));
      expect(s).toMatchObject({ relay_id: g.relayId, status: 1, extends: { from_b: '1' } });
      expect(s.rooms).toEqual(roomsOf(g, ['agreed', 'left:stopped', 'agreed']));
    });
  });

  describe('GET /client/relay', () => {
    const ids = async (who: Anchor, query: string) =>
      expectOk(await t.call('GET', `/client/relay?${query}`, { token: who.token })).list.map(
        (s: { relay_id: string }) => s.relay_id,
      );

    it("role=recv lists the relay for the third room's anchor, role=init does not, role=any does, in any state", async () => {
      const g = await groupRelay(t, 2, { mode: 'invite' });
      const third = g.recvs[1];
      expect(await ids(third, 'role=recv')).toEqual([g.relayId]);
      expect(await ids(third, 'role=init')).toEqual([]);
      expect(await ids(third, 'role=any')).toEqual([g.relayId]);
      expect(await ids(third, 'role=recv&status=0')).toEqual([g.relayId]);
      expect(await ids(g.init, 'role=init')).toEqual([g.relayId]);
      expect(await ids(g.init, 'role=recv')).toEqual([]);
      await act(g, 'reject', third, 0);
      expect(await ids(third, 'role=recv')).toEqual([g.relayId]);
      expect(await ids(third, 'role=any')).toEqual([g.relayId]);
      const listed = expectOk(await t.call('GET', '/client/relay', { token: third.token }));
      expect(listed.list[0]).toEqual(await read(g.relayId));
    });
  });

  describe('streams', () => {
    it("the third room's anchor and an audience of the third room receive the relay's events in order", async () => {
      const [init, a, b] = [await anchor(t), await anchor(t), await anchor(t)];
      const viewer = tokenFor(t, uniqueUser('viewer'));
      const streams = [
        await SseClient.connect(t.baseUrl, '/client/relay/events', { token: b.token }),
        await SseClient.connect(t.baseUrl, '/client/relay/events', {
          token: viewer,
          query: { room_id: b.liveId },
        }),
      ];
      try {
        for (const s of streams) expect(s.status).toBe(200);
        const elsewhere = await groupRelay(t, 2); // other rooms: never on these streams
        const g = await startGroup(init, [a, b], 'invite');
        await act(g, 'accept', a, 1);
        await act(elsewhere, 'started', elsewhere.init, 2);
        await act(g, 'accept', b, 1);
        await act(g, 'started', init, 2);
        await act(g, 'started', b, 4);
        expectOk(await post(g, 'extends', b, { extends: { k: 'v' } }));
        await act(g, 'stop', a, 4);
        await act(g, 'stop', init, 6);

        const stored = await relayEvents(t, g.relayId);
        expect(stored.map((e) => e.type)).toContain('relay.room_changed');
        for (const s of streams) {
          await s.waitFor(stored.length);
          await pause(300);
          expect(frames(s)).toEqual(stored.map(expectedFrame));
        }
      } finally {
        for (const s of streams) s.close();
      }
    });
  });
});
