/**
 * POST /client/relay/start (docs/api.md, "Relays"): modes, the rooms it claims, the relay token,
 * every error case and the order in which the start checks answer.
 */
import * as qiniu from 'qiniu';
import { anchor, Anchor, relay, tokenFor, uniqueUser, NO_TIMERS } from '../factories';
import { decodeRoomAccess } from '../utils/qiniu-sdk';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

const OTHER_APP = 'other_app';

/** The `qiniu` package ships its RTC credentials (qiniu/rtc/credentials.js) untyped. */
interface RtcCredentials {
  signJson(access: object): string;
}
const QiniuRtcCredentials = (
  qiniu as unknown as { Credentials: new (accessKey: string, secretKey: string) => RtcCredentials }
).Credentials;

describe('POST /client/relay/start', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(NO_TIMERS);
  });
  afterAll(async () => {
    await t?.close();
  });

  const body = (init: Anchor, recv: Anchor, extra: Record<string, unknown> = {}) => ({
    init_room_id: init.liveId,
    recv_room_id: recv.liveId,
    recv_user_id: recv.userId,
    ...extra,
  });

  const start = (token: string, payload: unknown) =>
    t.call('POST', '/client/relay/start', { token, body: payload });

  const room = async (a: Anchor) => {
    const answer = await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token });
    expect(answer.status).toBe(200);
    return answer.body.data as { live_id: string; pk_id: string; live_status: number };
  };

  const session = async (relayId: string, token: string) => {
    const answer = await t.call('GET', `/client/relay/${relayId}`, { token });
    expect(answer.status).toBe(200);
    return answer.body.data;
  };

  function expectOk(answer: HttpAnswer) {
    expect(answer).toMatchObject({ status: 200, body: { code: 0, message: 'success' } });
    expect(typeof answer.body.request_id).toBe('string');
    return answer.body.data;
  }

  function expectError(answer: HttpAnswer, status: number, code: number) {
    expect(answer).toMatchObject({ status, body: { code } });
    expect(typeof answer.body.request_id).toBe('string');
    expect(typeof answer.body.message).toBe('string');
    expect(answer.body.message.length).toBeGreaterThan(0);
    expect(answer.body.data).toBeUndefined();
  }

  /** A room that exists but is not live: created (0), or stopped (2) when `stopped`. */
  async function idleAnchor(stopped = false): Promise<Anchor> {
    const a = await anchor(t, { live: stopped });
    if (stopped) {
      const answer = await t.call('DELETE', `/client/live/room/${a.liveId}`, { token: a.token });
      expect(answer.body.data.live_status).toBe(2);
    }
    return a;
  }

  async function expectUnclaimed(...anchors: Anchor[]) {
    for (const a of anchors) expect((await room(a)).pk_id).toBe('');
  }

  /**
   * The token must be byte for byte what the official SDK signs for the same access, and
   * expire RELAY_TOKEN_TTL_S after it was made (`before`..`after` bracket the request).
   */
  function expectRoomToken(
    token: string,
    roomName: string,
    userId: string,
    before: number,
    after: number,
    ttl = 3600,
  ) {
    const access = decodeRoomAccess(token);
    expect(Number.isInteger(access.expireAt)).toBe(true);
    expect(access.expireAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) + ttl - 2);
    expect(access.expireAt).toBeLessThanOrEqual(Math.ceil(after / 1000) + ttl + 2);
    const official = new QiniuRtcCredentials(
      t.config.qiniu.accessKey,
      t.config.qiniu.secretKey,
    ).signJson({
      appId: t.config.qiniu.rtcAppId,
      roomName,
      userId,
      expireAt: access.expireAt,
      permission: 'user',
    });
    expect(token).toBe(official);
  }

  describe('success', () => {
    it('auto mode (the default) creates the relay at status 1 with a relay token', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const data = expectOk(await start(init.token, body(init, recv)));
      expect(Object.keys(data).sort()).toEqual([
        'relay_id',
        'relay_status',
        'relay_token',
        'relay_tokens',
      ]);
      expect(data.relay_id).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
      expect(data.relay_status).toBe(1);
      expect(data.relay_token).not.toBe('');
      const s = await session(data.relay_id, init.token);
      expect(s).toMatchObject({
        status: 1,
        stop_reason: '',
        init_user_id: init.userId,
        init_room_id: init.liveId,
        recv_user_id: recv.userId,
        recv_room_id: recv.liveId,
        app_id: 'default',
        duration_s: null,
        extends: {},
        stop_at: null,
      });
      expect(s.start_at).not.toBeNull();
    });

    it('mode "auto" given explicitly creates the relay at status 1 with a relay token', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const data = expectOk(await start(init.token, body(init, recv, { mode: 'auto' })));
      expect(data.relay_status).toBe(1);
      expect(data.relay_token).not.toBe('');
    });

    it('invite mode creates the relay at status 0 with relay_token ""', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const data = expectOk(await start(init.token, body(init, recv, { mode: 'invite' })));
      expect(data.relay_status).toBe(0);
      expect(data.relay_token).toBe('');
      const s = await session(data.relay_id, recv.token);
      expect(s).toMatchObject({ status: 0, stop_reason: '', start_at: null, stop_at: null });
    });

    it('RELAY_DEFAULT_MODE=invite makes invite the default; mode "auto" still overrides it', async () => {
      const other = await startTestApp({ ...NO_TIMERS, RELAY_DEFAULT_MODE: 'invite' });
      try {
        const [a, b, c, d] = await Promise.all([
          anchor(other),
          anchor(other),
          anchor(other),
          anchor(other),
        ]);
        const byDefault = await other.call('POST', '/client/relay/start', {
          token: a.token,
          body: body(a, b),
        });
        expect(byDefault.status).toBe(200);
        expect(byDefault.body.data).toMatchObject({ relay_status: 0, relay_token: '' });
        const auto = await other.call('POST', '/client/relay/start', {
          token: c.token,
          body: body(c, d, { mode: 'auto' }),
        });
        expect(auto.status).toBe(200);
        expect(auto.body.data.relay_status).toBe(1);
        expect(auto.body.data.relay_token).not.toBe('');
      } finally {
        await other.close();
      }
    });

    it('both rooms show an auto relay in pk_id at once', async () => {
      const r = await relay(t);
      expect((await room(r.init)).pk_id).toBe(r.relayId);
      expect((await room(r.recv)).pk_id).toBe(r.relayId);
    });

    it('both rooms show an invitation (status 0) in pk_id at once', async () => {
      const r = await relay(t, { mode: 'invite' });
      expect((await room(r.init)).pk_id).toBe(r.relayId);
      expect((await room(r.recv)).pk_id).toBe(r.relayId);
    });

    it('duration_s 10 and 86400 are accepted and stored; unset is null', async () => {
      for (const duration of [10, 86400]) {
        const r = await relay(t, { duration_s: duration });
        expect((await session(r.relayId, r.init.token)).duration_s).toBe(duration);
      }
      const unset = await relay(t);
      expect((await session(unset.relayId, unset.init.token)).duration_s).toBeNull();
    });

    it('extends are stored (64-character keys, 1024-character values, 32 keys)', async () => {
      const map: Record<string, string> = {};
      for (let i = 0; i < 31; i++) map[`k${i}`] = `v${i}`;
      map['k'.repeat(64)] = 'v'.repeat(1024);
      const r = await relay(t, { extends: map });
      expect((await session(r.relayId, r.recv.token)).extends).toEqual(map);
    });

    it("the initiator's token is the qiniu SDK's signJson for the receiver's room, expiring in RELAY_TOKEN_TTL_S", async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const before = Date.now();
      const data = expectOk(await start(init.token, body(init, recv)));
      const after = Date.now();
      expect(t.config.relay.tokenTtlS).toBe(3600);
      expectRoomToken(data.relay_token, recv.liveId, init.userId, before, after);
      expect(decodeRoomAccess(data.relay_token)).toEqual({
        appId: t.config.qiniu.rtcAppId,
        roomName: recv.liveId,
        userId: init.userId,
        expireAt: expect.any(Number),
        permission: 'user',
      });
    });

    it("the receiver's token names the initiator's room (and is the SDK's signJson)", async () => {
      const r = await relay(t);
      const before = Date.now();
      const mine = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}/token`, { token: r.recv.token }),
      );
      const after = Date.now();
      expect(mine).toMatchObject({ relay_id: r.relayId, relay_status: 1 });
      expectRoomToken(mine.relay_token, r.init.liveId, r.recv.userId, before, after);
    });

    it('a custom RELAY_TOKEN_TTL_S sets expireAt', async () => {
      const other = await startTestApp({ ...NO_TIMERS, RELAY_TOKEN_TTL_S: '600' });
      try {
        const [a, b] = await Promise.all([anchor(other), anchor(other)]);
        const before = Date.now();
        const answer = await other.call('POST', '/client/relay/start', {
          token: a.token,
          body: body(a, b),
        });
        const after = Date.now();
        expect(answer.status).toBe(200);
        const access = decodeRoomAccess(answer.body.data.relay_token);
        expect(access.expireAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) + 600 - 2);
        expect(access.expireAt).toBeLessThanOrEqual(Math.ceil(after / 1000) + 600 + 2);
      } finally {
        await other.close();
      }
    });
  });

  describe('body validation (400)', () => {
    let init: Anchor;
    let recv: Anchor;
    beforeAll(async () => {
      init = await anchor(t);
      recv = await anchor(t);
    });
    afterEach(async () => {
      // A refused start claims nothing.
      await expectUnclaimed(init, recv);
    });

    it('400 when a required field is missing', async () => {
      for (const field of ['init_room_id', 'recv_room_id', 'recv_user_id']) {
        const payload: Record<string, unknown> = body(init, recv);
        delete payload[field];
        const answer = await start(init.token, payload);
        expectError(answer, 400, 400);
        expect(answer.body.message).toContain(field);
      }
    });

    it('400 for a missing body and for malformed JSON', async () => {
      expectError(await t.call('POST', '/client/relay/start', { token: init.token }), 400, 400);
      expectError(await start(init.token, '{"init_room_id": '), 400, 400);
    });

    it('400 for an identifier that is not 1-64 of [A-Za-z0-9_.:-] or not a string', async () => {
      for (const bad of ['', 'has space', 'x'.repeat(65), 'é', 12, null]) {
        expectError(await start(init.token, body(init, recv, { recv_room_id: bad })), 400, 400);
        expectError(await start(init.token, body(init, recv, { recv_user_id: bad })), 400, 400);
      }
    });

    it('400 for an unknown field', async () => {
      const answer = await start(init.token, body(init, recv, { colour: 'red' }));
      expectError(answer, 400, 400);
      expect(answer.body.message).toContain('colour');
    });

    it('400 for mode "x"', async () => {
      expectError(await start(init.token, body(init, recv, { mode: 'x' })), 400, 400);
    });

    it('400 for duration_s 9', async () => {
      expectError(await start(init.token, body(init, recv, { duration_s: 9 })), 400, 400);
    });

    it('400 for duration_s 86401', async () => {
      expectError(await start(init.token, body(init, recv, { duration_s: 86401 })), 400, 400);
    });

    it('400 for duration_s that is not an integer (10.5, "60")', async () => {
      expectError(await start(init.token, body(init, recv, { duration_s: 10.5 })), 400, 400);
      expectError(await start(init.token, body(init, recv, { duration_s: '60' })), 400, 400);
    });

    it('400 for extends that is not an object', async () => {
      for (const bad of ['x', 1, ['a'], true]) {
        expectError(await start(init.token, body(init, recv, { extends: bad })), 400, 400);
      }
    });

    it('400 for an extends value that is not a string', async () => {
      for (const bad of [1, true, null, { nested: 'x' }, ['x']]) {
        const answer = await start(init.token, body(init, recv, { extends: { key: bad } }));
        expectError(answer, 400, 400);
      }
    });

    it('400 for an extends key of 65 characters (or empty)', async () => {
      const long = await start(
        init.token,
        body(init, recv, { extends: { ['k'.repeat(65)]: 'v' } }),
      );
      expectError(long, 400, 400);
      expectError(await start(init.token, body(init, recv, { extends: { '': 'v' } })), 400, 400);
    });

    it('400 for an extends value of 1025 characters', async () => {
      const answer = await start(
        init.token,
        body(init, recv, { extends: { k: 'v'.repeat(1025) } }),
      );
      expectError(answer, 400, 400);
    });

    it('400 for extends of 33 keys', async () => {
      const map: Record<string, string> = {};
      for (let i = 0; i < 33; i++) map[`k${i}`] = 'v';
      expectError(await start(init.token, body(init, recv, { extends: map })), 400, 400);
    });
  });

  describe('error cases', () => {
    it('400 when init_room_id equals recv_room_id', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await start(a.token, {
        init_room_id: a.liveId,
        recv_room_id: a.liveId,
        recv_user_id: b.userId,
      });
      expectError(answer, 400, 400);
      await expectUnclaimed(a);
    });

    it('400 when recv_user_id is the caller', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await start(a.token, {
        init_room_id: a.liveId,
        recv_room_id: b.liveId,
        recv_user_id: a.userId,
      });
      expectError(answer, 400, 400);
      await expectUnclaimed(a, b);
    });

    it('404 when the initiator room does not exist', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await start(a.token, body({ ...a, liveId: 'room_missing_1' }, b));
      expectError(answer, 404, 404);
      await expectUnclaimed(b);
    });

    it('403 when the caller is not the anchor of the initiator room', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const stranger = tokenFor(t, uniqueUser('stranger'));
      expectError(await start(stranger, body(a, b)), 403, 403);
      // Not even the receiver may start a relay from the initiator's room.
      expectError(
        await start(b.token, {
          init_room_id: a.liveId,
          recv_room_id: b.liveId,
          recv_user_id: a.userId,
        }),
        403,
        403,
      );
      await expectUnclaimed(a, b);
    });

    it('404 when the receiver room does not exist', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      expectError(await start(a.token, body(a, { ...b, liveId: 'room_missing_2' })), 404, 404);
      await expectUnclaimed(a);
    });

    it('404 when recv_user_id is not the anchor of the receiver room', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const c = await anchor(t);
      expectError(await start(a.token, body(a, { ...b, userId: c.userId })), 404, 404);
      expectError(await start(a.token, body(a, { ...b, userId: uniqueUser() })), 404, 404);
      await expectUnclaimed(a, b, c);
    });

    it('601 (HTTP 409) when the initiator room is not live (created, or stopped)', async () => {
      const b = await anchor(t);
      for (const stopped of [false, true]) {
        const a = await idleAnchor(stopped);
        expectError(await start(a.token, body(a, b)), 409, 601);
      }
      await expectUnclaimed(b);
    });

    it('601 (HTTP 409) when the receiver room is not live (created, or stopped)', async () => {
      const a = await anchor(t);
      for (const stopped of [false, true]) {
        const b = await idleAnchor(stopped);
        expectError(await start(a.token, body(a, b)), 409, 601);
      }
      await expectUnclaimed(a);
    });

    it('601 (HTTP 409) when the initiator room is already relaying', async () => {
      const r = await relay(t);
      const c = await anchor(t);
      expectError(await start(r.init.token, body(r.init, c)), 409, 601);
      expect((await room(r.init)).pk_id).toBe(r.relayId);
      await expectUnclaimed(c);
    });

    it('601 (HTTP 409) when the receiver room is already relaying', async () => {
      const r = await relay(t);
      const c = await anchor(t);
      expectError(await start(c.token, body(c, r.recv)), 409, 601);
      expect((await room(r.recv)).pk_id).toBe(r.relayId);
      await expectUnclaimed(c);
    });

    it('601 (HTTP 409) when a room holds an invitation still at status 0', async () => {
      const r = await relay(t, { mode: 'invite' });
      const c = await anchor(t);
      expectError(await start(c.token, body(c, r.recv)), 409, 601);
      expectError(await start(c.token, body(c, r.init)), 409, 601);
      expectError(await start(r.recv.token, body(r.recv, c)), 409, 601);
      await expectUnclaimed(c);
    });

    it('601 (HTTP 409) when the same pair starts again, either way round', async () => {
      const r = await relay(t);
      expectError(await start(r.init.token, body(r.init, r.recv)), 409, 601);
      expectError(await start(r.recv.token, body(r.recv, r.init)), 409, 601);
    });

    it('404 when the receiver room belongs to another app', async () => {
      const a = await anchor(t, { appId: OTHER_APP });
      const b = await anchor(t);
      expectError(await start(a.token, body(a, b)), 404, 404);
      await expectUnclaimed(b);
    });

    it('404 when the initiator room belongs to another app, even to the same user id', async () => {
      const userId = uniqueUser('twin');
      const mine = await anchor(t, { userId });
      const b = await anchor(t, { appId: OTHER_APP });
      const sameUserOtherApp = tokenFor(t, userId, { appId: OTHER_APP });
      expectError(await start(sameUserOtherApp, body(mine, b)), 404, 404);
      await expectUnclaimed(mine);
    });

    it('a relay inside another app works there and is invisible to the default app', async () => {
      const a = await anchor(t, { appId: OTHER_APP });
      const b = await anchor(t, { appId: OTHER_APP });
      const data = expectOk(await start(a.token, body(a, b)));
      expect((await session(data.relay_id, b.token)).app_id).toBe(OTHER_APP);
      const outsider = tokenFor(t, a.userId);
      expectError(
        await t.call('GET', `/client/relay/${data.relay_id}`, { token: outsider }),
        404,
        404,
      );
    });

    it('401 without a token', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await t.call('POST', '/client/relay/start', { body: body(a, b) });
      expectError(answer, 401, 401);
      await expectUnclaimed(a, b);
    });
  });

  describe('check order (two checks fail at once; the earlier one answers)', () => {
    it('body validation before rooms-equal: bad duration_s with equal rooms names duration_s', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await start(a.token, {
        init_room_id: a.liveId,
        recv_room_id: a.liveId,
        recv_user_id: b.userId,
        duration_s: 9,
      });
      expectError(answer, 400, 400);
      expect(answer.body.message).toContain('duration_s');
    });

    it('body validation before rooms-equal: a 65-character extends key with equal rooms names extends', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await start(a.token, {
        init_room_id: a.liveId,
        recv_room_id: a.liveId,
        recv_user_id: b.userId,
        extends: { ['k'.repeat(65)]: 'v' },
      });
      expectError(answer, 400, 400);
      expect(answer.body.message).toContain('extends');
    });

    it('body validation (400) before the room checks (403/404/601)', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const stranger = tokenFor(t, uniqueUser());
      expectError(await start(stranger, body(a, b, { mode: 'x' })), 400, 400);
      expectError(
        await start(stranger, body(a, b, { extends: { k: 'v'.repeat(1025) } })),
        400,
        400,
      );
      expectError(
        await start(a.token, body({ ...a, liveId: 'room_missing_3' }, b, { duration_s: 86401 })),
        400,
        400,
      );
      const idle = await idleAnchor();
      expectError(await start(idle.token, body(idle, b, { unknown: 1 })), 400, 400);
    });

    it('rooms equal (400) before the initiator room is looked up (404)', async () => {
      const answer = await start(tokenFor(t, uniqueUser()), {
        init_room_id: 'room_missing_4',
        recv_room_id: 'room_missing_4',
        recv_user_id: uniqueUser(),
      });
      expectError(answer, 400, 400);
    });

    it('recv_user_id = caller (400) before the initiator room is looked up (404) or owned (403)', async () => {
      const caller = uniqueUser();
      const token = tokenFor(t, caller);
      const b = await anchor(t);
      expectError(
        await start(token, {
          init_room_id: 'room_missing_5',
          recv_room_id: b.liveId,
          recv_user_id: caller,
        }),
        400,
        400,
      );
      const a = await anchor(t);
      expectError(
        await start(token, {
          init_room_id: a.liveId,
          recv_room_id: b.liveId,
          recv_user_id: caller,
        }),
        400,
        400,
      );
      await expectUnclaimed(a, b);
    });

    it('initiator room missing (404) before the receiver room is not live (601)', async () => {
      const a = await anchor(t);
      const idle = await idleAnchor();
      expectError(await start(a.token, body({ ...a, liveId: 'room_missing_6' }, idle)), 404, 404);
    });

    it('caller not the anchor (403) before the receiver room is missing (404)', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await start(b.token, {
        init_room_id: a.liveId,
        recv_room_id: 'room_missing_7',
        recv_user_id: a.userId,
      });
      expectError(answer, 403, 403);
    });

    it('caller not the anchor (403) before a room is not live or relaying (601)', async () => {
      const idle = await idleAnchor();
      const b = await anchor(t);
      const stranger = tokenFor(t, uniqueUser());
      expectError(await start(stranger, body(idle, b)), 403, 403);
      const r = await relay(t);
      expectError(await start(stranger, body(r.init, b)), 403, 403);
    });

    it('receiver room missing (404) before the initiator room is not live (601)', async () => {
      const idle = await idleAnchor();
      const b = await anchor(t);
      expectError(
        await start(idle.token, body(idle, { ...b, liveId: 'room_missing_8' })),
        404,
        404,
      );
    });

    it('recv_user_id not the receiver anchor (404) before a room is not live (601)', async () => {
      const idle = await idleAnchor();
      const b = await idleAnchor();
      expectError(await start(idle.token, body(idle, { ...b, userId: uniqueUser() })), 404, 404);
    });

    it('recv_user_id not the receiver anchor (404) before a room is relaying (601)', async () => {
      const r = await relay(t);
      const c = await anchor(t);
      expectError(await start(c.token, body(c, { ...r.recv, userId: r.init.userId })), 404, 404);
    });

    it('a room not live (601) before a room already relaying (601): the message names the idle room', async () => {
      const r = await relay(t);
      const idle = await idleAnchor();
      const answer = await start(r.init.token, body(r.init, idle));
      expectError(answer, 409, 601);
      expect(answer.body.message).toContain(idle.liveId);
      expect(answer.body.message).not.toContain(r.relayId);
      expect((await room(r.init)).pk_id).toBe(r.relayId);
    });
  });
});
