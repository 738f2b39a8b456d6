/**
 * docs/api.md, "Rooms": live rooms, as the relay needs them.
 */
import { anchor, relay, tokenFor, uniqueUser } from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';

const nowS = () => Math.floor(Date.now() / 1000);

const ROOM_KEYS = [
  'anchor_id',
  'anchor_info',
  'cover_url',
  'end_time',
  'extends',
  'live_id',
  'live_status',
  'notice',
  'pk_id',
  'start_time',
  'title',
];

describe('rooms (docs/api.md, "Rooms")', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const create = (token: string, body: unknown) =>
    t.call('POST', '/client/live/room/instance', { token, body });
  const info = (token: string, liveId: string) =>
    t.call('GET', `/client/live/room/info/${liveId}`, { token });
  const startLive = (token: string, liveId: string) =>
    t.call('PUT', `/client/live/room/${liveId}`, { token });
  const stopLive = (token: string, liveId: string) =>
    t.call('DELETE', `/client/live/room/${liveId}`, { token });
  const heartbeat = (token: string, liveId: string) =>
    t.call('GET', `/client/live/room/heartbeat/${liveId}`, { token });

  describe('POST /client/live/room/instance', () => {
    it('creates a room whose anchor is the caller, at live_status 0, with every field', async () => {
      const user = uniqueUser();
      const answer = await create(tokenFor(t, user), { title: 'Friday PK' });
      expectOk(answer);
      const room = answer.body.data;
      expect(Object.keys(room).sort()).toEqual(ROOM_KEYS);
      expect(room).toEqual({
        live_id: expect.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
        title: 'Friday PK',
        notice: '',
        cover_url: '',
        extends: {},
        anchor_id: user,
        anchor_info: { user_id: user },
        live_status: 0,
        pk_id: '',
        start_time: 0,
        end_time: 0,
      });
    });

    it('keeps notice, cover_url and extends as given', async () => {
      const user = uniqueUser();
      const answer = await create(tokenFor(t, user), {
        title: 'with extras',
        notice: 'be nice',
        cover_url: 'https://example.com/c.png',
        extends: { level: 'gold', lang: 'zh' },
      });
      expectOk(answer);
      expect(answer.body.data).toMatchObject({
        notice: 'be nice',
        cover_url: 'https://example.com/c.png',
        extends: { level: 'gold', lang: 'zh' },
      });
      const read = await info(tokenFor(t, user), answer.body.data.live_id);
      expect(read.body.data).toEqual(answer.body.data);
    });

    it('gives each room its own live_id', async () => {
      const token = tokenFor(t, uniqueUser());
      const a = await create(token, { title: 'a' });
      const b = await create(token, { title: 'b' });
      expect(a.body.data.live_id).not.toBe(b.body.data.live_id);
    });

    it('answers 400 to a missing title', async () => {
      const answer = await create(tokenFor(t, uniqueUser()), { notice: 'no title' });
      expectError(answer, 400, 400);
      expect(answer.body.message).toMatch(/title/);
    });

    it('answers 400 to an optional field sent as null', async () => {
      const answer = await create(tokenFor(t, uniqueUser()), { title: 'x', notice: null });
      expectError(answer, 400, 400);
      expect(answer.body.message).toMatch(/notice/);
    });

    it('answers 400 to an empty title', async () => {
      expectError(await create(tokenFor(t, uniqueUser()), { title: '' }), 400, 400);
    });

    it('answers 400 to extends with a non-string value', async () => {
      const answer = await create(tokenFor(t, uniqueUser()), {
        title: 'x',
        extends: { level: 3 },
      });
      expectError(answer, 400, 400);
      expect(answer.body.message).toMatch(/extends/);
    });

    it('answers 400 to extends that is not an object', async () => {
      expectError(
        await create(tokenFor(t, uniqueUser()), { title: 'x', extends: ['a'] }),
        400,
        400,
      );
    });

    it('accepts extends with 32 keys', async () => {
      const ext = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, `v${i}`]));
      const answer = await create(tokenFor(t, uniqueUser()), { title: 'x', extends: ext });
      expectOk(answer);
      expect(answer.body.data.extends).toEqual(ext);
    });

    it('answers 400 to extends with 33 keys', async () => {
      const ext = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, `v${i}`]));
      const answer = await create(tokenFor(t, uniqueUser()), { title: 'x', extends: ext });
      expectError(answer, 400, 400);
    });

    it('answers 401 without a token', async () => {
      const answer = await t.call('POST', '/client/live/room/instance', { body: { title: 'x' } });
      expectError(answer, 401, 401);
    });
  });

  describe('GET /client/live/room/info/{live_id}', () => {
    it('answers the room to any user of the app', async () => {
      const a = await anchor(t, { live: false });
      const answer = await info(tokenFor(t, uniqueUser()), a.liveId);
      expectOk(answer);
      expect(answer.body.data).toMatchObject({
        live_id: a.liveId,
        anchor_id: a.userId,
        anchor_info: { user_id: a.userId },
        live_status: 0,
      });
    });

    it('answers 404 to an unknown live_id', async () => {
      expectError(await info(tokenFor(t, uniqueUser()), 'room_unknown'), 404, 404);
    });

    it('answers 404 to a room of another app', async () => {
      const a = await anchor(t, { appId: 'rooms_other_app', live: false });
      expectError(await info(tokenFor(t, uniqueUser()), a.liveId), 404, 404);
    });
  });

  describe('PUT /client/live/room/{live_id}', () => {
    it('starts the live for its anchor: live_status 1, start_time now in unix seconds', async () => {
      const a = await anchor(t, { live: false });
      const before = nowS();
      const answer = await startLive(a.token, a.liveId);
      const after = nowS();
      expectOk(answer);
      expect(answer.body.data.live_status).toBe(1);
      expect(answer.body.data.start_time).toBeGreaterThanOrEqual(before);
      expect(answer.body.data.start_time).toBeLessThanOrEqual(after);
      expect(answer.body.data.end_time).toBe(0);
      const read = await info(a.token, a.liveId);
      expect(read.body.data).toMatchObject({
        live_status: 1,
        start_time: answer.body.data.start_time,
        end_time: 0,
      });
    });

    it('answers 403 to another user', async () => {
      const a = await anchor(t, { live: false });
      expectError(await startLive(tokenFor(t, uniqueUser()), a.liveId), 403, 403);
      expect((await info(a.token, a.liveId)).body.data.live_status).toBe(0);
    });

    it('answers 404 to an unknown live_id', async () => {
      expectError(await startLive(tokenFor(t, uniqueUser()), 'room_unknown'), 404, 404);
    });
  });

  describe('DELETE /client/live/room/{live_id}', () => {
    it('stops the live for its anchor: live_status 2 with end_time', async () => {
      const a = await anchor(t);
      const before = nowS();
      const answer = await stopLive(a.token, a.liveId);
      const after = nowS();
      expectOk(answer);
      const room = answer.body.data;
      expect(room.live_status).toBe(2);
      expect(room.end_time).toBeGreaterThanOrEqual(before);
      expect(room.end_time).toBeLessThanOrEqual(after);
      expect(room.start_time).toBeGreaterThan(0);
      expect(room.start_time).toBeLessThanOrEqual(room.end_time);
      const read = await info(a.token, a.liveId);
      expect(read.body.data).toMatchObject({ live_status: 2, end_time: room.end_time });
    });

    it('answers 601 (HTTP 409) on a room that was never started', async () => {
      const a = await anchor(t, { live: false });
      expectError(await stopLive(a.token, a.liveId), 409, 601);
      expect((await info(a.token, a.liveId)).body.data.live_status).toBe(0);
    });

    it('answers 403 to another user', async () => {
      const a = await anchor(t);
      expectError(await stopLive(tokenFor(t, uniqueUser()), a.liveId), 403, 403);
      expect((await info(a.token, a.liveId)).body.data.live_status).toBe(1);
    });

    it('answers 404 to an unknown live_id', async () => {
      expectError(await stopLive(tokenFor(t, uniqueUser()), 'room_unknown'), 404, 404);
    });

    it("ends the room's relay with room_stopped and releases the other room", async () => {
      const r = await relay(t);
      const before = await info(r.init.token, r.recv.liveId);
      expect(before.body.data.pk_id).toBe(r.relayId);

      const stopped = await stopLive(r.init.token, r.init.liveId);
      expectOk(stopped);
      expect(stopped.body.data).toMatchObject({ live_status: 2, pk_id: '' });

      const session = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.recv.token });
      expect(session.body.data).toMatchObject({ status: 6, stop_reason: 'room_stopped' });
      expect(session.body.data.stop_at).toEqual(expect.any(String));

      const other = await info(r.recv.token, r.recv.liveId);
      expect(other.body.data).toMatchObject({ live_status: 1, pk_id: '' });
      const own = await info(r.init.token, r.init.liveId);
      expect(own.body.data.pk_id).toBe('');
    });

    it('ends an invitation still waiting (status 0) when the receiver stops its room', async () => {
      const r = await relay(t, { mode: 'invite' });
      expect(r.started.relay_status).toBe(0);
      expectOk(await stopLive(r.recv.token, r.recv.liveId));
      const session = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
      expect(session.body.data).toMatchObject({ status: 6, stop_reason: 'room_stopped' });
      expect((await info(r.init.token, r.init.liveId)).body.data.pk_id).toBe('');
    });

    it('lets both rooms start a new relay after the stopped room goes live again', async () => {
      const r = await relay(t);
      expectOk(await stopLive(r.init.token, r.init.liveId));
      expectOk(await startLive(r.init.token, r.init.liveId));
      const again = await t.call('POST', '/client/relay/start', {
        token: r.init.token,
        body: {
          init_room_id: r.init.liveId,
          recv_room_id: r.recv.liveId,
          recv_user_id: r.recv.userId,
        },
      });
      expectOk(again);
      expect(again.body.data.relay_id).not.toBe(r.relayId);
    });
  });

  describe('GET /client/live/room/heartbeat/{live_id}', () => {
    it('answers 200 to the anchor while live', async () => {
      const a = await anchor(t);
      const answer = await heartbeat(a.token, a.liveId);
      expectOk(answer);
      expect(answer.body.data).toMatchObject({ live_id: a.liveId, live_status: 1 });
    });

    it('answers 403 to another user', async () => {
      const a = await anchor(t);
      expectError(await heartbeat(tokenFor(t, uniqueUser()), a.liveId), 403, 403);
    });

    it('answers 601 (HTTP 409) on a room that is not live yet', async () => {
      const a = await anchor(t, { live: false });
      expectError(await heartbeat(a.token, a.liveId), 409, 601);
    });

    it('answers 601 (HTTP 409) on a stopped room', async () => {
      const a = await anchor(t);
      expectOk(await stopLive(a.token, a.liveId));
      expectError(await heartbeat(a.token, a.liveId), 409, 601);
    });

    it('answers 404 to an unknown live_id', async () => {
      expectError(await heartbeat(tokenFor(t, uniqueUser()), 'room_unknown'), 404, 404);
    });
  });

  describe('operations', () => {
    it('answers 200 on /healthz, in the envelope like every JSON answer', async () => {
      const answer = await t.call('GET', '/healthz');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ code: 0, message: 'success', data: { status: 'ok' } });
      expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
    });
  });
});
