/**
 * The customer's backend starts and finds relays (docs/api.md, "Server API"): the client start
 * with the caller's checks left out, idempotent per app, and the relays of a room, the one that
 * holds it first.
 */
import { anchor, Anchor, serverCall, tokenFor } from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';

describe('server start and lookup', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RELAY_JOIN_TIMEOUT_S: '0', RELAY_INVITE_TIMEOUT_S: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const start = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    serverCall(t, 'POST', '/server/relay/start', body, { headers });
  const body = (a: Anchor, b: Anchor, extra: Record<string, unknown> = {}) => ({
    app_id: 'default',
    init_room_id: a.liveId,
    recv_room_id: b.liveId,
    recv_user_id: b.userId,
    ...extra,
  });

  describe('POST /server/relay/start', () => {
    it('starts an auto relay as the anchor of init_room_id would, origin server', async () => {
      const [a, b] = [await anchor(t), await anchor(t)];
      const answer = expectOk(await start(body(a, b)));
      expect(answer).toEqual({ relay_id: expect.stringMatching(/^relay_/), relay_status: 1 });
      const s = expectOk(
        await t.call('GET', `/client/relay/${answer.relay_id}`, { token: a.token }),
      );
      expect(s).toMatchObject({ origin: 'server', init_user_id: a.userId, status: 1 });
      const token = expectOk(
        await t.call('GET', `/client/relay/${answer.relay_id}/token`, { token: b.token }),
      );
      expect(token.relay_tokens.map((x: any) => x.room_id)).toEqual([a.liveId]);
    });

    it('takes mode invite and group relays, as the client start does', async () => {
      const [a, b, c] = [await anchor(t), await anchor(t), await anchor(t)];
      const answer = expectOk(
        await start({
          app_id: 'default',
          init_room_id: a.liveId,
          recv_rooms: [b, c].map((x) => ({ room_id: x.liveId, user_id: x.userId })),
          mode: 'invite',
        }),
      );
      expect(answer.relay_status).toBe(0);
    });

    it('answers 404, 601 and 400 in the order of a start, never 403', async () => {
      const [a, b] = [await anchor(t), await anchor(t)];
      expectError(await start(body(a, b, { init_room_id: 'room_none' })), 404);
      expectError(await start(body(a, b, { recv_user_id: a.userId })), 404);
      const secondOfA = await anchor(t, { userId: a.userId });
      expectError(await start(body(a, secondOfA)), 400);
      expectError(await start(body(a, b, { app_id: 'another_app' })), 404);
      const idle = await anchor(t, { live: false });
      expectError(await start(body(a, idle)), 409, 601);
      expectOk(await start(body(a, b)));
      expectError(await start(body(b, a)), 409, 601);
      expectError(await start({ init_room_id: a.liveId }), 400);
    });

    it("keeps Idempotency-Keys per app: a repeat answers the first, another app's key is another", async () => {
      const [a, b] = [await anchor(t), await anchor(t)];
      const key = { 'idempotency-key': `server-${Date.now()}` };
      const first = await start(body(a, b), key);
      const again = await start(body(a, b), key);
      expect(again.body.data).toEqual(first.body.data);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const [x, y] = [await anchor(t, { appId: 'app_two' }), await anchor(t, { appId: 'app_two' })];
      const other = await start({ ...body(x, y), app_id: 'app_two' }, key);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      expect(other.body.data.relay_id).not.toBe(first.body.data.relay_id);
      expectError(await start(body(a, b, { mode: 'invite' }), key), 400);
    });
  });

  describe('GET /server/relay?app_id=&room_id=', () => {
    it("lists a room's relays newest first, the one holding it first, a page at a time", async () => {
      const [a, b, c, d] = [await anchor(t), await anchor(t), await anchor(t), await anchor(t)];
      // b takes part in three relays: one it left while it goes on, one ended, and one now.
      const group = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: a.token,
          body: {
            init_room_id: a.liveId,
            recv_rooms: [b, c].map((x) => ({ room_id: x.liveId, user_id: x.userId })),
          },
        }),
      );
      expectOk(await t.call('POST', `/client/relay/${group.relay_id}/stop`, { token: b.token }));
      const ended = expectOk(await start(body(b, d)));
      expectOk(await serverCall(t, 'POST', `/server/relay/${ended.relay_id}/stop`));
      const [e] = [await anchor(t)];
      const holding = expectOk(await start(body(e, b)));
      const list = (query: string) =>
        serverCall(t, 'GET', `/server/relay?app_id=default&room_id=${b.liveId}${query}`);
      const all = expectOk(await list(''));
      expect(all.list.map((r: any) => r.relay_id)).toEqual([
        holding.relay_id,
        ended.relay_id,
        group.relay_id,
      ]);
      const seen: string[] = [];
      let cursor = '';
      for (let i = 0; i < 5; i++) {
        const page = expectOk(await list(`&limit=1${cursor ? `&cursor=${cursor}` : ''}`));
        seen.push(...page.list.map((r: any) => r.relay_id));
        if (page.next_cursor === null) break;
        cursor = page.next_cursor;
      }
      expect(seen).toEqual(all.list.map((r: any) => r.relay_id));
      const open = expectOk(await list('&status=0,1,2,3,4'));
      expect(open.list.map((r: any) => r.relay_id)).toEqual([holding.relay_id, group.relay_id]);
      expect(expectOk(await list('&status=6')).list.map((r: any) => r.relay_id)).toEqual([
        ended.relay_id,
      ]);
    });

    it("answers 400 without room_id or app_id, and an empty list for another app's room", async () => {
      expectError(await serverCall(t, 'GET', '/server/relay?app_id=default'), 400);
      expectError(await serverCall(t, 'GET', '/server/relay?room_id=room_x'), 400);
      const a = await anchor(t);
      const other = expectOk(
        await serverCall(t, 'GET', `/server/relay?app_id=another_app&room_id=${a.liveId}`),
      );
      expect(other).toEqual({ list: [], next_cursor: null });
      expectError(
        await t.call('GET', `/server/relay?app_id=default&room_id=${a.liveId}`, {
          token: tokenFor(t, 'a_client'),
        }),
        401,
      );
    });
  });
});
