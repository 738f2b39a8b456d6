/**
 * The relay session endpoints of docs/api.md, "Relays", one row of its table at a time:
 * read, token, accept, reject, started, stop, extends and the list.
 */
import {
  anchor,
  Anchor,
  relay,
  RelayFixture,
  SESSION_FIELDS,
  tokenFor,
  uniqueUser,
  NO_TIMERS,
} from '../factories';
import { decodeRoomAccess } from '../utils/qiniu-sdk';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';

const OTHER_APP = 'other_app';
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

interface Session {
  sid: string;
  relay_id: string;
  app_id: string;
  init_user_id: string;
  init_room_id: string;
  recv_room_id: string;
  recv_user_id: string;
  status: number;
  stop_reason: string;
  start_at: string | null;
  stop_at: string | null;
  created_at: string | null;
  updated_at: string | null;
  duration_s: number | null;
  extends: Record<string, string>;
}

/** "YYYY-MM-DD HH:mm:ss" in the server's zone, which is UTC in these tests (TZ unset). */
const parseTime = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);

function expectTimeBetween(value: string | null, before: number, after: number) {
  expect(value).toMatch(TIME);
  const ms = parseTime(value as string);
  expect(ms).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  expect(ms).toBeLessThanOrEqual(after);
}

describe('relay lifecycle', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(NO_TIMERS);
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (relayId: string, action: string, token: string, body?: unknown) =>
    t.call('POST', `/client/relay/${relayId}/${action}`, { token, body });

  async function get(relayId: string, token: string): Promise<Session> {
    return expectOk(await t.call('GET', `/client/relay/${relayId}`, { token })) as Session;
  }

  async function pkId(a: Anchor): Promise<string> {
    return expectOk(await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token }))
      .pk_id;
  }

  const stranger = () => tokenFor(t, uniqueUser('stranger'));

  /** A fresh relay brought to `status` by the anchors' own requests. */
  async function relayAt(
    status: number,
    options: { extends?: Record<string, string>; duration_s?: number } = {},
  ): Promise<RelayFixture> {
    const r = await relay(t, {
      mode: status === 0 || status === 5 ? 'invite' : 'auto',
      ...options,
    });
    const steps: Record<number, [string, Anchor][]> = {
      0: [],
      1: [],
      2: [['started', r.init]],
      3: [['started', r.recv]],
      4: [
        ['started', r.init],
        ['started', r.recv],
      ],
      5: [['reject', r.recv]],
      6: [['stop', r.init]],
    };
    for (const [action, who] of steps[status]) expectOk(await post(r.relayId, action, who.token));
    expect((await get(r.relayId, r.init.token)).status).toBe(status);
    return r;
  }

  describe('GET /client/relay/{relay_id}', () => {
    it('answers every field of the Session shape', async () => {
      const before = Date.now();
      const r = await relay(t);
      const after = Date.now();
      const s = await get(r.relayId, r.init.token);
      expect(Object.keys(s).sort()).toEqual(SESSION_FIELDS);
      expect(s).toEqual({
        sid: r.relayId,
        relay_id: r.relayId,
        app_id: 'default',
        init_user_id: r.init.userId,
        init_room_id: r.init.liveId,
        recv_room_id: r.recv.liveId,
        recv_user_id: r.recv.userId,
        rooms: [
          {
            room_id: r.init.liveId,
            user_id: r.init.userId,
            role: 'init',
            state: 'agreed',
            reason: '',
          },
          {
            room_id: r.recv.liveId,
            user_id: r.recv.userId,
            role: 'recv',
            state: 'agreed',
            reason: '',
          },
        ],
        status: 1,
        stop_reason: '',
        start_at: expect.stringMatching(TIME),
        stop_at: null,
        created_at: expect.stringMatching(TIME),
        updated_at: expect.stringMatching(TIME),
        duration_s: null,
        extends: {},
        scores: { [r.init.liveId]: 0, [r.recv.liveId]: 0 },
        winner_room_id: '',
        battle: null,
        origin: 'invite',
      });
      expectTimeBetween(s.created_at, before, after);
      expectTimeBetween(s.updated_at, before, after);
      expectTimeBetween(s.start_at, before, after);
    });

    it('an invitation has start_at null until it is agreed', async () => {
      const r = await relay(t, { mode: 'invite' });
      const s = await get(r.relayId, r.recv.token);
      expect(s).toMatchObject({ status: 0, start_at: null, stop_at: null, stop_reason: '' });
      expect(s.created_at).toMatch(TIME);
    });

    it('returns duration_s and extends as stored', async () => {
      const r = await relay(t, { duration_s: 600, extends: { score_a: '10', note: '' } });
      const s = await get(r.relayId, r.init.token);
      expect(s.duration_s).toBe(600);
      expect(s.extends).toEqual({ score_a: '10', note: '' });
    });

    it('stop_at is set when the relay ends', async () => {
      const r = await relay(t);
      const before = Date.now();
      expectOk(await post(r.relayId, 'stop', r.init.token));
      const after = Date.now();
      const s = await get(r.relayId, r.init.token);
      expect(s).toMatchObject({ status: 6, stop_reason: 'stopped' });
      expectTimeBetween(s.stop_at, before, after);
      expectTimeBetween(s.updated_at, before, after);
      expect(s.start_at).toMatch(TIME);
    });

    it('404 for an unknown relay', async () => {
      const answer = await t.call('GET', '/client/relay/relay_does_not_exist', {
        token: stranger(),
      });
      expectError(answer, 404, 404);
    });

    it("404 for a user of another app, even with an anchor's user id", async () => {
      const r = await relay(t);
      for (const userId of [r.init.userId, uniqueUser()]) {
        const token = tokenFor(t, userId, { appId: OTHER_APP });
        expectError(await t.call('GET', `/client/relay/${r.relayId}`, { token }), 404, 404);
      }
    });

    it('any user of the app may read it', async () => {
      const r = await relay(t);
      const s = await get(r.relayId, stranger());
      expect(s.relay_id).toBe(r.relayId);
      expect(s.status).toBe(1);
    });

    it('400 for a malformed relay id', async () => {
      const answer = await t.call('GET', `/client/relay/${encodeURIComponent('bad id!')}`, {
        token: stranger(),
      });
      expectError(answer, 400, 400);
    });
  });

  describe('404 for an unknown relay or one of another app, on every action', () => {
    it('token, accept, reject, started, stop and extends answer 404', async () => {
      const r = await relay(t, { mode: 'invite' });
      const outsider = tokenFor(t, r.recv.userId, { appId: OTHER_APP });
      for (const [relayId, token] of [
        ['relay_does_not_exist', r.recv.token],
        [r.relayId, outsider],
      ]) {
        expectError(await t.call('GET', `/client/relay/${relayId}/token`, { token }), 404, 404);
        for (const action of ['accept', 'reject', 'started', 'stop']) {
          expectError(await post(relayId, action, token), 404, 404);
        }
        expectError(await post(relayId, 'extends', token, { extends: { a: 'b' } }), 404, 404);
      }
      expect((await get(r.relayId, r.init.token)).status).toBe(0);
    });
  });

  describe('GET /client/relay/{relay_id}/token', () => {
    it("gives the initiator a token for the receiver's room", async () => {
      const r = await relay(t);
      const data = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}/token`, { token: r.init.token }),
      );
      expect(data).toEqual({
        relay_id: r.relayId,
        relay_status: 1,
        relay_token: expect.any(String),
        relay_tokens: [{ room_id: r.recv.liveId, relay_token: data.relay_token }],
      });
      expect(decodeRoomAccess(data.relay_token)).toMatchObject({
        roomName: r.recv.liveId,
        userId: r.init.userId,
      });
    });

    it("gives the receiver a token for the initiator's room", async () => {
      const r = await relay(t);
      const data = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}/token`, { token: r.recv.token }),
      );
      expect(decodeRoomAccess(data.relay_token)).toMatchObject({
        roomName: r.init.liveId,
        userId: r.recv.userId,
      });
    });

    it('answers in every status 1-4', async () => {
      for (const status of [1, 2, 3, 4]) {
        const r = await relayAt(status);
        for (const who of [r.init, r.recv]) {
          const data = expectOk(
            await t.call('GET', `/client/relay/${r.relayId}/token`, { token: who.token }),
          );
          expect(data.relay_status).toBe(status);
          expect(data.relay_token).not.toBe('');
        }
      }
    });

    it('403 for a user who is not one of its anchors', async () => {
      const r = await relay(t);
      const answer = await t.call('GET', `/client/relay/${r.relayId}/token`, { token: stranger() });
      expectError(answer, 403, 403);
    });

    it('601 (HTTP 409) in status 0, 5 and 6', async () => {
      for (const status of [0, 5, 6]) {
        const r = await relayAt(status);
        for (const who of [r.init, r.recv]) {
          const answer = await t.call('GET', `/client/relay/${r.relayId}/token`, {
            token: who.token,
          });
          expectError(answer, 409, 601);
        }
      }
    });
  });

  describe('POST /client/relay/{relay_id}/accept', () => {
    it("moves 0 -> 1 for the receiver and answers the receiver's token; start_at is set", async () => {
      const r = await relay(t, { mode: 'invite' });
      const before = Date.now();
      const data = expectOk(await post(r.relayId, 'accept', r.recv.token));
      const after = Date.now();
      expect(data).toEqual({
        relay_id: r.relayId,
        relay_status: 1,
        relay_token: expect.any(String),
        relay_tokens: [{ room_id: r.init.liveId, relay_token: data.relay_token }],
      });
      expect(decodeRoomAccess(data.relay_token)).toMatchObject({
        roomName: r.init.liveId,
        userId: r.recv.userId,
      });
      const s = await get(r.relayId, r.init.token);
      expect(s).toMatchObject({ status: 1, stop_reason: '', stop_at: null });
      expectTimeBetween(s.start_at, before, after);
      expect(await pkId(r.init)).toBe(r.relayId);
      expect(await pkId(r.recv)).toBe(r.relayId);
    });

    it('403 for the initiator; the invitation stays at 0', async () => {
      const r = await relay(t, { mode: 'invite' });
      expectError(await post(r.relayId, 'accept', r.init.token), 403, 403);
      expect((await get(r.relayId, r.init.token)).status).toBe(0);
    });

    it('403 for a stranger; the invitation stays at 0', async () => {
      const r = await relay(t, { mode: 'invite' });
      expectError(await post(r.relayId, 'accept', stranger()), 403, 403);
      expect((await get(r.relayId, r.init.token)).status).toBe(0);
    });

    it('repeated while 1-4 is success with no change, still answering the token', async () => {
      for (const status of [1, 2, 3, 4]) {
        const r = await relayAt(status);
        const before = await get(r.relayId, r.init.token);
        const data = expectOk(await post(r.relayId, 'accept', r.recv.token));
        expect(data.relay_status).toBe(status);
        expect(decodeRoomAccess(data.relay_token).roomName).toBe(r.init.liveId);
        expect(await get(r.relayId, r.init.token)).toEqual(before);
      }
    });

    it('601 (HTTP 409) on 5 and 6', async () => {
      for (const status of [5, 6]) {
        const r = await relayAt(status);
        expectError(await post(r.relayId, 'accept', r.recv.token), 409, 601);
        expect((await get(r.relayId, r.init.token)).status).toBe(status);
      }
    });
  });

  describe('POST /client/relay/{relay_id}/reject', () => {
    it('moves 0 -> 5 with stop_reason rejected and stop_at set; both rooms are released', async () => {
      const r = await relay(t, { mode: 'invite' });
      const before = Date.now();
      const data = expectOk(await post(r.relayId, 'reject', r.recv.token));
      const after = Date.now();
      expect(data).toEqual({ relay_id: r.relayId, relay_status: 5 });
      const s = await get(r.relayId, r.init.token);
      expect(s).toMatchObject({ status: 5, stop_reason: 'rejected', start_at: null });
      expectTimeBetween(s.stop_at, before, after);
      expect(await pkId(r.init)).toBe('');
      expect(await pkId(r.recv)).toBe('');
    });

    it('repeated while 5 is success with no change', async () => {
      const r = await relayAt(5);
      const before = await get(r.relayId, r.init.token);
      expect(expectOk(await post(r.relayId, 'reject', r.recv.token))).toEqual({
        relay_id: r.relayId,
        relay_status: 5,
      });
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it('601 (HTTP 409) in status 1, 2, 3, 4 and 6', async () => {
      for (const status of [1, 2, 3, 4, 6]) {
        const r = await relayAt(status);
        expectError(await post(r.relayId, 'reject', r.recv.token), 409, 601);
        expect((await get(r.relayId, r.init.token)).status).toBe(status);
      }
    });

    it('403 for the initiator and for a stranger; the invitation stays at 0', async () => {
      const r = await relay(t, { mode: 'invite' });
      expectError(await post(r.relayId, 'reject', r.init.token), 403, 403);
      expectError(await post(r.relayId, 'reject', stranger()), 403, 403);
      expect((await get(r.relayId, r.init.token)).status).toBe(0);
    });
  });

  describe('POST /client/relay/{relay_id}/started', () => {
    const started = async (r: RelayFixture, who: Anchor, expected: number) => {
      expect(expectOk(await post(r.relayId, 'started', who.token))).toEqual({
        relay_id: r.relayId,
        relay_status: expected,
      });
      expect((await get(r.relayId, who.token)).status).toBe(expected);
    };

    it('1 -> 2 when the initiator reports', async () => {
      const r = await relayAt(1);
      await started(r, r.init, 2);
    });

    it('1 -> 3 when the receiver reports', async () => {
      const r = await relayAt(1);
      await started(r, r.recv, 3);
    });

    it('2 -> 4 when the receiver reports', async () => {
      const r = await relayAt(2);
      await started(r, r.recv, 4);
    });

    it('3 -> 4 when the initiator reports', async () => {
      const r = await relayAt(3);
      await started(r, r.init, 4);
    });

    it('2 stays 2 when the initiator repeats, with no change', async () => {
      const r = await relayAt(2);
      const before = await get(r.relayId, r.init.token);
      await started(r, r.init, 2);
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it('3 stays 3 when the receiver repeats, with no change', async () => {
      const r = await relayAt(3);
      const before = await get(r.relayId, r.init.token);
      await started(r, r.recv, 3);
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it('4 stays 4 when either side repeats, with no change', async () => {
      const r = await relayAt(4);
      const before = await get(r.relayId, r.init.token);
      await started(r, r.init, 4);
      await started(r, r.recv, 4);
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it('601 (HTTP 409) in status 0, 5 and 6, for either anchor', async () => {
      for (const status of [0, 5, 6]) {
        const r = await relayAt(status);
        for (const who of [r.init, r.recv]) {
          expectError(await post(r.relayId, 'started', who.token), 409, 601);
        }
        expect((await get(r.relayId, r.init.token)).status).toBe(status);
      }
    });

    it('403 for a stranger', async () => {
      const r = await relayAt(1);
      expectError(await post(r.relayId, 'started', stranger()), 403, 403);
      expect((await get(r.relayId, r.init.token)).status).toBe(1);
    });
  });

  describe('POST /client/relay/{relay_id}/stop', () => {
    it('from 0 by the initiator -> 6 cancelled', async () => {
      const r = await relayAt(0);
      expect(expectOk(await post(r.relayId, 'stop', r.init.token))).toEqual({
        relay_id: r.relayId,
        relay_status: 6,
      });
      const s = await get(r.relayId, r.init.token);
      expect(s).toMatchObject({ status: 6, stop_reason: 'cancelled', start_at: null });
      expect(s.stop_at).toMatch(TIME);
    });

    it('from 0 by the receiver -> 6 stopped', async () => {
      const r = await relayAt(0);
      expect(expectOk(await post(r.relayId, 'stop', r.recv.token)).relay_status).toBe(6);
      expect(await get(r.relayId, r.init.token)).toMatchObject({
        status: 6,
        stop_reason: 'stopped',
      });
    });

    it('from each of 1-4, by either anchor -> 6 stopped', async () => {
      for (const status of [1, 2, 3, 4]) {
        for (const side of ['init', 'recv'] as const) {
          const r = await relayAt(status);
          expect(expectOk(await post(r.relayId, 'stop', r[side].token)).relay_status).toBe(6);
          const s = await get(r.relayId, r.init.token);
          expect(s).toMatchObject({ status: 6, stop_reason: 'stopped' });
          expect(s.stop_at).toMatch(TIME);
        }
      }
    });

    it('repeated on 6 is success with no change', async () => {
      const r = await relayAt(6);
      const before = await get(r.relayId, r.init.token);
      for (const who of [r.init, r.recv]) {
        expect(expectOk(await post(r.relayId, 'stop', who.token)).relay_status).toBe(6);
      }
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it('on 5 is success with no change (stays 5, rejected)', async () => {
      const r = await relayAt(5);
      const before = await get(r.relayId, r.init.token);
      expect(expectOk(await post(r.relayId, 'stop', r.init.token)).relay_status).toBe(5);
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it("releases both rooms' pk_id so each room can start a new relay", async () => {
      const r = await relayAt(4);
      expect(await pkId(r.init)).toBe(r.relayId);
      expectOk(await post(r.relayId, 'stop', r.recv.token));
      expect(await pkId(r.init)).toBe('');
      expect(await pkId(r.recv)).toBe('');
      const c = await anchor(t);
      const withOther = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: r.init.token,
          body: { init_room_id: r.init.liveId, recv_room_id: c.liveId, recv_user_id: c.userId },
        }),
      );
      expect(await pkId(r.init)).toBe(withOther.relay_id);
      const d = await anchor(t);
      const reverse = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: d.token,
          body: {
            init_room_id: d.liveId,
            recv_room_id: r.recv.liveId,
            recv_user_id: r.recv.userId,
          },
        }),
      );
      expect(await pkId(r.recv)).toBe(reverse.relay_id);
    });

    it('403 for a stranger', async () => {
      const r = await relayAt(1);
      expectError(await post(r.relayId, 'stop', stranger()), 403, 403);
      expect((await get(r.relayId, r.init.token)).status).toBe(1);
    });

    it('stopping a room ends its relay with room_stopped and releases the other room', async () => {
      const r = await relayAt(2);
      expectOk(
        await t.call('DELETE', `/client/live/room/${r.recv.liveId}`, { token: r.recv.token }),
      );
      expect(await get(r.relayId, r.init.token)).toMatchObject({
        status: 6,
        stop_reason: 'room_stopped',
      });
      expect(await pkId(r.init)).toBe('');
      expect(await pkId(r.recv)).toBe('');
    });
  });

  describe('POST /client/relay/{relay_id}/extends', () => {
    const patch = (r: RelayFixture, who: Anchor | string, ext: unknown) =>
      post(r.relayId, 'extends', typeof who === 'string' ? who : who.token, { extends: ext });

    it('a string sets a key, null deletes one; answers the merged map', async () => {
      const r = await relay(t, { extends: { a: '1', b: '2' } });
      expect(expectOk(await patch(r, r.init, { b: '3', c: '4' }))).toEqual({
        relay_id: r.relayId,
        extends: { a: '1', b: '3', c: '4' },
      });
      expect(expectOk(await patch(r, r.recv, { a: null, d: '' }))).toEqual({
        relay_id: r.relayId,
        extends: { b: '3', c: '4', d: '' },
      });
      expect((await get(r.relayId, r.init.token)).extends).toEqual({ b: '3', c: '4', d: '' });
    });

    it('deleting a missing key, or an empty patch, changes nothing and answers the map', async () => {
      const r = await relay(t, { extends: { a: '1' } });
      const before = await get(r.relayId, r.init.token);
      expect(expectOk(await patch(r, r.init, { nothing: null })).extends).toEqual({ a: '1' });
      expect(expectOk(await patch(r, r.init, {})).extends).toEqual({ a: '1' });
      expect(expectOk(await patch(r, r.init, { a: '1' })).extends).toEqual({ a: '1' });
      expect(await get(r.relayId, r.init.token)).toEqual(before);
    });

    it('either anchor may update it in every non-terminal status 0-4', async () => {
      for (const status of [0, 1, 2, 3, 4]) {
        const r = await relayAt(status);
        expect(expectOk(await patch(r, r.init, { i: 'x' })).extends).toEqual({ i: 'x' });
        expect(expectOk(await patch(r, r.recv, { r: 'y' })).extends).toEqual({ i: 'x', r: 'y' });
      }
    });

    it('601 (HTTP 409) when the relay is terminal (5, 6)', async () => {
      for (const status of [5, 6]) {
        const r = await relayAt(status, { extends: { keep: 'me' } });
        expectError(await patch(r, r.init, { a: 'b' }), 409, 601);
        expect((await get(r.relayId, r.init.token)).extends).toEqual({ keep: 'me' });
      }
    });

    it('400 for a key of 0 or 65 characters (64 is fine)', async () => {
      const r = await relay(t);
      expectError(await patch(r, r.init, { ['k'.repeat(65)]: 'v' }), 400, 400);
      expectError(await patch(r, r.init, { '': 'v' }), 400, 400);
      expect(expectOk(await patch(r, r.init, { ['k'.repeat(64)]: 'v' })).extends).toEqual({
        ['k'.repeat(64)]: 'v',
      });
    });

    it('400 for a value that is not a string or null, or over 1024 characters (1024 is fine)', async () => {
      const r = await relay(t);
      for (const bad of [1, true, { x: 'y' }, ['x'], 'v'.repeat(1025)]) {
        expectError(await patch(r, r.init, { k: bad }), 400, 400);
      }
      expect(expectOk(await patch(r, r.init, { k: 'v'.repeat(1024) })).extends.k).toHaveLength(
        1024,
      );
    });

    it('400 when the merged map would exceed 32 keys; the map is unchanged', async () => {
      const map: Record<string, string> = {};
      for (let i = 0; i < 30; i++) map[`k${i}`] = 'v';
      const r = await relay(t, { extends: map });
      expectError(await patch(r, r.init, { x1: 'v', x2: 'v', x3: 'v' }), 400, 400);
      expect((await get(r.relayId, r.init.token)).extends).toEqual(map);
      expect(
        Object.keys(expectOk(await patch(r, r.init, { x1: 'v', x2: 'v' })).extends),
      ).toHaveLength(32);
      expectError(await patch(r, r.recv, { x3: 'v' }), 400, 400);
      // Deleting one makes room for another in the same request.
      const swapped = expectOk(await patch(r, r.recv, { k0: null, x3: 'v' })).extends;
      expect(Object.keys(swapped)).toHaveLength(32);
      expect(swapped).not.toHaveProperty('k0');
    });

    it('a patch of more than 32 entries is fine when the merged map stays within 32 keys', async () => {
      const map: Record<string, string> = {};
      for (let i = 0; i < 32; i++) map[`k${i}`] = 'v';
      const r = await relay(t, { extends: map });
      const replace: Record<string, string | null> = {};
      for (let i = 0; i < 32; i++) replace[`k${i}`] = null;
      replace.fresh = 'v';
      expect(expectOk(await patch(r, r.init, replace)).extends).toEqual({ fresh: 'v' });
    });

    it('400 for a missing or non-object extends, or an unknown field', async () => {
      const r = await relay(t);
      expectError(await post(r.relayId, 'extends', r.init.token, {}), 400, 400);
      for (const bad of ['x', 1, ['a'], null]) {
        expectError(await patch(r, r.init, bad), 400, 400);
      }
      expectError(
        await post(r.relayId, 'extends', r.init.token, { extends: { a: 'b' }, more: 1 }),
        400,
        400,
      );
      expect((await get(r.relayId, r.init.token)).extends).toEqual({});
    });

    it('403 for a stranger', async () => {
      const r = await relay(t);
      expectError(await patch(r, stranger(), { a: 'b' }), 403, 403);
      expect((await get(r.relayId, r.init.token)).extends).toEqual({});
    });
  });

  describe('GET /client/relay', () => {
    /**
     * `me` owns three live rooms and takes part in five relays, oldest first:
     * a: me -> p1, stopped (6, init)   b: p2 -> me, rejected (5, recv)   c: me -> p3 (1, init)
     * d: p4 -> me, invitation (0, recv)   e: p5 -> me, initiator joined (2, recv)
     * and one relay between strangers that must never show.
     */
    let me: Anchor;
    const ids: Record<'a' | 'b' | 'c' | 'd' | 'e', string> = { a: '', b: '', c: '', d: '', e: '' };
    let partnerOfA: Anchor;

    const list = (token: string, query = '') =>
      t.call('GET', `/client/relay${query === '' ? '' : `?${query}`}`, { token });

    const idsOf = (data: { list: Session[] }) => data.list.map((s) => s.relay_id);

    async function newRoom(owner: Anchor): Promise<Anchor> {
      const created = expectOk(
        await t.call('POST', '/client/live/room/instance', {
          token: owner.token,
          body: { title: 'second room' },
        }),
      );
      expectOk(await t.call('PUT', `/client/live/room/${created.live_id}`, { token: owner.token }));
      return { ...owner, liveId: created.live_id };
    }

    async function startRelay(init: Anchor, recv: Anchor, mode: 'auto' | 'invite') {
      const data = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: init.token,
          body: {
            init_room_id: init.liveId,
            recv_room_id: recv.liveId,
            recv_user_id: recv.userId,
            mode,
          },
        }),
      );
      return data.relay_id as string;
    }

    beforeAll(async () => {
      me = await anchor(t);
      const room2 = await newRoom(me);
      const room3 = await newRoom(me);
      const [p1, p2, p3, p4, p5, s1, s2] = await Promise.all(
        Array.from({ length: 7 }, () => anchor(t)),
      );
      partnerOfA = p1;
      ids.a = await startRelay(me, p1, 'auto');
      expectOk(await post(ids.a, 'stop', me.token));
      ids.b = await startRelay(p2, me, 'invite');
      expectOk(await post(ids.b, 'reject', me.token));
      ids.c = await startRelay(me, p3, 'auto');
      ids.d = await startRelay(p4, room2, 'invite');
      ids.e = await startRelay(p5, room3, 'auto');
      expectOk(await post(ids.e, 'started', p5.token));
      await startRelay(s1, s2, 'auto');
    });

    it("lists the caller's own sessions, newest first, as Session objects (role any by default)", async () => {
      const data = expectOk(await list(me.token));
      expect(Object.keys(data).sort()).toEqual(['list', 'next_cursor']);
      expect(idsOf(data)).toEqual([ids.e, ids.d, ids.c, ids.b, ids.a]);
      expect(data.next_cursor).toBeNull();
      for (const s of data.list as Session[]) expect(Object.keys(s).sort()).toEqual(SESSION_FIELDS);
      expect((data.list as Session[]).map((s) => s.status)).toEqual([2, 0, 1, 5, 6]);
      expect(data.list[0]).toEqual(await get(ids.e, me.token));
    });

    it('role=any is the default', async () => {
      expect(idsOf(expectOk(await list(me.token, 'role=any')))).toEqual([
        ids.e,
        ids.d,
        ids.c,
        ids.b,
        ids.a,
      ]);
    });

    it('shows nothing of other users: a partner sees only the relay it shared', async () => {
      expect(idsOf(expectOk(await list(partnerOfA.token)))).toEqual([ids.a]);
      expect(idsOf(expectOk(await list(stranger())))).toEqual([]);
    });

    it('shows nothing of another app, even to the same user id', async () => {
      const token = tokenFor(t, me.userId, { appId: OTHER_APP });
      expect(expectOk(await list(token))).toEqual({ list: [], next_cursor: null });
    });

    it('role=init lists the sessions the caller started', async () => {
      expect(idsOf(expectOk(await list(me.token, 'role=init')))).toEqual([ids.c, ids.a]);
    });

    it('role=recv lists the sessions the caller was invited to', async () => {
      expect(idsOf(expectOk(await list(me.token, 'role=recv')))).toEqual([ids.e, ids.d, ids.b]);
    });

    it('status=0,1 filters by status', async () => {
      expect(idsOf(expectOk(await list(me.token, 'status=0,1')))).toEqual([ids.d, ids.c]);
      expect(idsOf(expectOk(await list(me.token, 'status=5')))).toEqual([ids.b]);
      expect(idsOf(expectOk(await list(me.token, 'status=3,4')))).toEqual([]);
    });

    it('role=recv&status=0 finds the missed invitations', async () => {
      expect(idsOf(expectOk(await list(me.token, 'role=recv&status=0')))).toEqual([ids.d]);
    });

    it('next_cursor pages through the list and is null on the last page', async () => {
      const first = expectOk(await list(me.token, 'limit=2'));
      expect(idsOf(first)).toEqual([ids.e, ids.d]);
      expect(typeof first.next_cursor).toBe('string');
      const second = expectOk(await list(me.token, `limit=2&cursor=${first.next_cursor}`));
      expect(idsOf(second)).toEqual([ids.c, ids.b]);
      expect(typeof second.next_cursor).toBe('string');
      const third = expectOk(await list(me.token, `limit=2&cursor=${second.next_cursor}`));
      expect(idsOf(third)).toEqual([ids.a]);
      expect(third.next_cursor).toBeNull();
    });

    it('next_cursor is null when the last page is exactly full', async () => {
      const all = expectOk(await list(me.token, 'limit=5'));
      expect(idsOf(all)).toHaveLength(5);
      expect(all.next_cursor).toBeNull();
      const seen: string[] = [];
      let cursor: string | null = '';
      do {
        const page = expectOk(
          await list(me.token, `limit=1${cursor === '' ? '' : `&cursor=${cursor}`}`),
        );
        seen.push(...idsOf(page));
        cursor = page.next_cursor;
      } while (cursor !== null && seen.length < 10);
      expect(seen).toEqual([ids.e, ids.d, ids.c, ids.b, ids.a]);
    });

    it('paging combines with the role and status filters', async () => {
      const first = expectOk(await list(me.token, 'role=recv&status=0,2,5&limit=2'));
      expect(idsOf(first)).toEqual([ids.e, ids.d]);
      const second = expectOk(
        await list(me.token, `role=recv&status=0,2,5&limit=2&cursor=${first.next_cursor}`),
      );
      expect(idsOf(second)).toEqual([ids.b]);
      expect(second.next_cursor).toBeNull();
    });

    it('an empty cursor (as in the contract example "cursor=") means the first page', async () => {
      const data = expectOk(await list(me.token, 'status=0,1&role=recv&limit=20&cursor='));
      expect(idsOf(data)).toEqual([ids.d]);
    });

    it('limit defaults to 20 and accepts 1-100', async () => {
      const busy = await anchor(t);
      const partner = await anchor(t);
      const made: string[] = [];
      for (let i = 0; i < 22; i++) {
        const id = await startRelay(busy, partner, 'auto');
        expectOk(await post(id, 'stop', busy.token));
        made.unshift(id);
      }
      const first = expectOk(await list(busy.token));
      expect(idsOf(first)).toEqual(made.slice(0, 20));
      expect(first.next_cursor).not.toBeNull();
      const rest = expectOk(await list(busy.token, `cursor=${first.next_cursor}`));
      expect(idsOf(rest)).toEqual(made.slice(20));
      expect(rest.next_cursor).toBeNull();
      expect(idsOf(expectOk(await list(busy.token, 'limit=100')))).toEqual(made);
      expect(idsOf(expectOk(await list(busy.token, 'limit=1')))).toEqual(made.slice(0, 1));
    });

    it('400 for a bad limit', async () => {
      for (const limit of ['0', '101', '-1', 'abc', '1.5']) {
        expectError(await list(me.token, `limit=${limit}`), 400, 400);
      }
    });

    it('400 for a bad role', async () => {
      for (const role of ['x', 'INIT', 'both']) {
        expectError(await list(me.token, `role=${role}`), 400, 400);
      }
    });

    it('400 for a bad status', async () => {
      for (const status of ['7', 'a', '0,,1', '-1', '1;2']) {
        expectError(await list(me.token, `status=${encodeURIComponent(status)}`), 400, 400);
      }
    });

    it('400 for a bad cursor', async () => {
      for (const cursor of ['abc', '-5', '0', '1.5']) {
        expectError(await list(me.token, `cursor=${cursor}`), 400, 400);
      }
    });

    it('401 without a token', async () => {
      expectError(await t.call('GET', '/client/relay'), 401, 401);
    });
  });
});
