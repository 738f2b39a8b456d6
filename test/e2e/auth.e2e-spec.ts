/**
 * docs/api.md, "Authentication": client JWTs, the server API's Qiniu MAC signature, and the server
 * endpoints of section 5 (token issuing, reading and stopping any app's relay).
 */
import { createHmac } from 'node:crypto';
import { decode, sign } from 'jsonwebtoken';
import { Clock } from '../../src/common/clock';
import { anchor, Anchor, relay, tokenFor, uniqueUser } from '../factories';
import { qiniuRtc, qiniuSignV2 } from '../utils/qiniu-sdk';
import { expectError, expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

const { Credentials } = qiniuRtc;
const nowS = () => Math.floor(Date.now() / 1000);
const DAY_S = 86400;

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** `X-Qiniu-Date` as the SDKs write it, `YYYYMMDDTHHmmssZ`, for a time in unix milliseconds. */
function qiniuDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

describe('authentication (docs/api.md, "Authentication")', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp();
    port = Number(new URL(t.baseUrl).port);
  });
  afterAll(async () => {
    await t.close();
  });

  /** A room the caller can read: GET /client/live/room/info of a room it just made. */
  async function createRoom(authorization: string | undefined): Promise<HttpAnswer> {
    return t.call('POST', '/client/live/room/instance', {
      body: { title: 'auth check' },
      headers: authorization === undefined ? {} : { authorization },
    });
  }

  describe('client API JWT', () => {
    it('accepts Authorization: Bearer <jwt>', async () => {
      const user = uniqueUser();
      const answer = await createRoom(`Bearer ${tokenFor(t, user)}`);
      expectOk(answer);
      expect(answer.body.data.anchor_id).toBe(user);
    });

    it('accepts the Bearer scheme in any case, as HTTP auth schemes are', async () => {
      const user = uniqueUser();
      const answer = await createRoom(`bearer ${tokenFor(t, user)}`);
      expectOk(answer);
      expect(answer.body.data.anchor_id).toBe(user);
    });

    it('accepts a bare <jwt> without the word Bearer', async () => {
      const user = uniqueUser();
      const answer = await createRoom(tokenFor(t, user));
      expectOk(answer);
      expect(answer.body.data.anchor_id).toBe(user);
    });

    it('accepts `sub` instead of `UserId`', async () => {
      const user = uniqueUser();
      const jwt = sign({ sub: user, AppId: 'default', exp: nowS() + 600 }, t.config.jwtSecret, {
        algorithm: 'HS256',
      });
      const answer = await createRoom(`Bearer ${jwt}`);
      expectOk(answer);
      expect(answer.body.data.anchor_id).toBe(user);
    });

    it('puts a token without AppId in app `default`', async () => {
      const user = uniqueUser();
      const jwt = sign({ UserId: user, exp: nowS() + 600 }, t.config.jwtSecret, {
        algorithm: 'HS256',
      });
      const created = await createRoom(`Bearer ${jwt}`);
      expectOk(created);
      const reader = tokenFor(t, uniqueUser(), { appId: 'default' });
      const read = await t.call('GET', `/client/live/room/info/${created.body.data.live_id}`, {
        token: reader,
      });
      expectOk(read);
      expect(read.body.data.anchor_id).toBe(user);
    });

    it('isolates apps: a room of app A is 404 for a user of app B', async () => {
      const a = await anchor(t, { appId: 'tenant_a', live: false });
      const own = await t.call('GET', `/client/live/room/info/${a.liveId}`, {
        token: tokenFor(t, uniqueUser(), { appId: 'tenant_a' }),
      });
      expectOk(own);
      const other = await t.call('GET', `/client/live/room/info/${a.liveId}`, {
        token: tokenFor(t, uniqueUser(), { appId: 'tenant_b' }),
      });
      expectError(other, 404, 404);
      const byDefault = await t.call('GET', `/client/live/room/info/${a.liveId}`, {
        token: tokenFor(t, uniqueUser()),
      });
      expectError(byDefault, 404, 404);
    });

    it('answers 401 to a missing Authorization header', async () => {
      expectError(await createRoom(undefined), 401, 401);
    });

    it('answers 401 to "Bearer Bearer <jwt>", naming the doubled prefix', async () => {
      const answer = await createRoom(`Bearer Bearer ${tokenFor(t, uniqueUser())}`);
      expectError(answer, 401, 401);
      expect(answer.body.message).toBe(
        'Authorization says "Bearer" twice: send "Authorization: Bearer <token>" with the token alone after one "Bearer "',
      );
    });

    it('answers 401 to a garbage token', async () => {
      expectError(await createRoom('Bearer not-a-jwt'), 401, 401);
    });

    it('answers 401 to a token signed with another secret', async () => {
      const jwt = sign({ UserId: uniqueUser(), exp: nowS() + 600 }, 'another-secret-entirely-123', {
        algorithm: 'HS256',
      });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 401);
    });

    it('answers 401 to an unsigned token (alg none)', async () => {
      const header = b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const payload = b64url(JSON.stringify({ UserId: uniqueUser(), exp: nowS() + 600 }));
      expectError(await createRoom(`Bearer ${header}.${payload}.`), 401, 401);
    });

    it('answers 401 to an alg none token that still carries an HS256 signature', async () => {
      const header = b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const payload = b64url(JSON.stringify({ UserId: uniqueUser(), exp: nowS() + 600 }));
      const signature = createHmac('sha256', t.config.jwtSecret)
        .update(`${header}.${payload}`)
        .digest('base64url');
      expectError(await createRoom(`Bearer ${header}.${payload}.${signature}`), 401, 401);
    });

    it('answers 401 to an HS512 token signed with the right secret', async () => {
      const jwt = sign({ UserId: uniqueUser(), exp: nowS() + 600 }, t.config.jwtSecret, {
        algorithm: 'HS512',
      });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 401);
    });

    it('answers 401 to an HS384 token signed with the right secret', async () => {
      const jwt = sign({ UserId: uniqueUser(), exp: nowS() + 600 }, t.config.jwtSecret, {
        algorithm: 'HS384',
      });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 401);
    });

    it('answers 401 to a token without exp', async () => {
      const jwt = sign({ UserId: uniqueUser() }, t.config.jwtSecret, { algorithm: 'HS256' });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 401);
    });

    it('answers 401 to a token without UserId or sub', async () => {
      const jwt = sign({ AppId: 'default', exp: nowS() + 600 }, t.config.jwtSecret, {
        algorithm: 'HS256',
      });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 401);
    });

    it('answers 401 to a token with a crit header, though signed with the right secret', async () => {
      for (const crit of [['exp'], ['b64'], []]) {
        const jwt = sign({ UserId: uniqueUser(), exp: nowS() + 600 }, t.config.jwtSecret, {
          algorithm: 'HS256',
          header: { alg: 'HS256', typ: 'JWT', crit },
        });
        const answer = await createRoom(`Bearer ${jwt}`);
        expectError(answer, 401, 401);
        expect(answer.body.message).toBe('token has a crit header');
      }
    });

    it('answers HTTP 401 with code 499 to an expired token', async () => {
      const jwt = tokenFor(t, uniqueUser(), { expiresAt: nowS() - 60 });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 499);
    });

    it('answers 499 to a token it accepted before, from the second its exp names', async () => {
      const user = uniqueUser();
      const expiresAt = nowS() + 2;
      const jwt = tokenFor(t, user, { expiresAt });
      // Accepted twice: the second answer comes from the tokens it has verified.
      expectOk(await createRoom(`Bearer ${jwt}`));
      const again = await createRoom(jwt);
      expectOk(again);
      expect(again.body.data.anchor_id).toBe(user);
      await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 20));
      expectError(await createRoom(`Bearer ${jwt}`), 401, 499);
    });

    it('refuses a token that differs from an accepted one only in its signature', async () => {
      const jwt = tokenFor(t, uniqueUser());
      expectOk(await createRoom(`Bearer ${jwt}`));
      const [header, payload, signature] = jwt.split('.');
      const other = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
      expectError(await createRoom(`Bearer ${header}.${payload}.${other}`), 401, 401);
    });
  });

  describe('server API Qiniu MAC', () => {
    async function server(
      method: string,
      p: string,
      options: { authorization?: string; body?: string; headers?: Record<string, string> } = {},
    ): Promise<HttpAnswer> {
      const headers: Record<string, string> = { ...options.headers };
      if (options.authorization !== undefined) headers.authorization = options.authorization;
      const response = await fetch(t.baseUrl + p, { method, headers, body: options.body });
      const text = await response.text();
      const json = (response.headers.get('content-type') ?? '').includes('json');
      return {
        status: response.status,
        headers: response.headers,
        body: json && text.length > 0 ? JSON.parse(text) : text,
        text,
      };
    }

    /** Signs like the RTC server SDK: qiniu.Credentials#generateAccessToken. */
    function credentialsSign(
      method: string,
      p: string,
      contentType?: string,
      body?: string,
      keys: [string, string] = [t.config.serverAccessKey, t.config.serverSecretKey],
    ): string {
      return new Credentials(keys[0], keys[1]).generateAccessToken(
        {
          host: '127.0.0.1',
          port,
          path: p,
          method,
          headers: contentType === undefined ? {} : { 'Content-Type': contentType },
        },
        body,
      );
    }

    /** Signs like the storage SDKs: qiniu.util.generateAccessTokenV2. */
    function v2Sign(
      method: string,
      p: string,
      contentType?: string,
      body?: string,
      headers?: Record<string, string>,
    ): string {
      return qiniuSignV2(
        t.config.serverAccessKey,
        t.config.serverSecretKey,
        t.baseUrl + p,
        method,
        contentType,
        body,
        headers,
      );
    }

    it('verifies a GET signed with Credentials.generateAccessToken', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      const answer = await server('GET', p, { authorization: credentialsSign('GET', p) });
      expectOk(answer);
    });

    it('verifies a GET with a Content-Type signed with Credentials.generateAccessToken', async () => {
      const r = await relay(t);
      const p = `/server/relay/${r.relayId}`;
      const answer = await server('GET', p, {
        authorization: credentialsSign('GET', p, 'application/x-www-form-urlencoded'),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectOk(answer);
      expect(answer.body.data.relay_id).toBe(r.relayId);
    });

    it('verifies a POST with a JSON body signed with Credentials.generateAccessToken', async () => {
      const r = await relay(t);
      const p = `/server/relay/${r.relayId}/stop`;
      const body = JSON.stringify({ note: 'by credentials' });
      const answer = await server('POST', p, {
        authorization: credentialsSign('POST', p, 'application/json', body),
        headers: { 'content-type': 'application/json' },
        body,
      });
      expectOk(answer);
      expect(answer.body.data).toEqual({ relay_id: r.relayId, relay_status: 6 });
    });

    it('verifies a GET signed with util.generateAccessTokenV2 (no Content-Type)', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      const answer = await server('GET', p, { authorization: v2Sign('GET', p) });
      expectOk(answer);
    });

    it('verifies a GET signed with util.generateAccessTokenV2 with a Content-Type', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}&app_id=tenant_v2`;
      const answer = await server('GET', p, {
        authorization: v2Sign('GET', p, 'application/x-www-form-urlencoded'),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectOk(answer);
    });

    it('verifies X-Qiniu-* headers sent in odd case, signed with generateAccessTokenV2', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      const qiniuHeaders = {
        'x-qiniu-date': qiniuDate(Date.now()),
        'X-QINIU-TRACE-id': 'trace-42',
        'X-Other-Header': 'not signed',
      };
      const answer = await server('GET', p, {
        authorization: v2Sign('GET', p, 'application/json', undefined, qiniuHeaders),
        headers: { 'content-type': 'application/json', ...qiniuHeaders },
      });
      expectOk(answer);
    });

    it('refuses with 401 when a signed X-Qiniu-* header was changed', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      const answer = await server('GET', p, {
        authorization: v2Sign('GET', p, 'application/json', undefined, {
          'X-Qiniu-Date': qiniuDate(Date.now()),
        }),
        headers: {
          'content-type': 'application/json',
          'x-qiniu-date': qiniuDate(Date.now() - 1000),
        },
      });
      expectError(answer, 401, 401);
    });

    it('verifies a POST with a JSON body signed with util.generateAccessTokenV2', async () => {
      const r = await relay(t);
      const p = `/server/relay/${r.relayId}/stop`;
      const body = JSON.stringify({ note: 'by v2' });
      const date = qiniuDate(Date.now());
      const answer = await server('POST', p, {
        authorization: v2Sign('POST', p, 'application/json', body, { 'X-Qiniu-Date': date }),
        headers: { 'content-type': 'application/json', 'X-Qiniu-Date': date },
        body,
      });
      expectOk(answer);
      expect(answer.body.data.relay_status).toBe(6);
    });

    /** A GET of a new token for a new user, signed with the SDK and `X-Qiniu-Date: date`. */
    function datedGet(date: string): Promise<HttpAnswer> {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      return server('GET', p, {
        authorization: v2Sign('GET', p, undefined, undefined, { 'X-Qiniu-Date': date }),
        headers: { 'X-Qiniu-Date': date },
      });
    }

    it('refuses with 401 a well signed request whose X-Qiniu-Date is over 15 minutes old (a replay)', async () => {
      const answer = await datedGet(qiniuDate(Date.now() - 16 * 60_000));
      expectError(answer, 401, 401);
      expect(answer.body.message).toBe(
        "X-Qiniu-Date is more than 15 minutes from the server's clock",
      );
      expectError(await datedGet('20260101T000000Z'), 401, 401);
    });

    it('refuses with 401 a well signed request whose X-Qiniu-Date is over 15 minutes ahead', async () => {
      expectError(await datedGet(qiniuDate(Date.now() + 16 * 60_000)), 401, 401);
    });

    it('refuses with 401 a well signed request whose X-Qiniu-Date is unreadable, telling its format', async () => {
      const answer = await datedGet('2026-11-30T12:00:00Z');
      expectError(answer, 401, 401);
      expect(answer.body.message).toBe(
        'X-Qiniu-Date must be YYYYMMDDTHHmmssZ in UTC, like 20261130T120000Z (got "2026-11-30T12:00:00Z")',
      );
    });

    it('verifies a request whose X-Qiniu-Date is within 15 minutes either way', async () => {
      expectOk(await datedGet(qiniuDate(Date.now() - 14 * 60_000)));
      expectOk(await datedGet(qiniuDate(Date.now() + 14 * 60_000)));
    });

    it("judges X-Qiniu-Date by the service's clock", async () => {
      const clock = t.app.get(Clock);
      const realNow = () => Date.now();
      const date = qiniuDate(Date.now());
      clock.now = () => Date.now() + 20 * 60_000;
      try {
        expectError(await datedGet(date), 401, 401);
      } finally {
        clock.now = realNow;
      }
      expectOk(await datedGet(date));
    });

    it('refuses with 401 a signature made with a wrong secret', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      const answer = await server('GET', p, {
        authorization: credentialsSign('GET', p, undefined, undefined, [
          t.config.serverAccessKey,
          'a-wrong-secret-key',
        ]),
      });
      expectError(answer, 401, 401);
    });

    it('refuses with 401 a signature made with a wrong access key', async () => {
      const p = `/server/auth/token?user_id=${uniqueUser()}`;
      const answer = await server('GET', p, {
        authorization: credentialsSign('GET', p, undefined, undefined, [
          'another-access-key',
          t.config.serverSecretKey,
        ]),
      });
      expectError(answer, 401, 401);
    });

    it('refuses with 401 a request whose path was changed after signing', async () => {
      const a = await relay(t);
      const b = await relay(t);
      const answer = await server('GET', `/server/relay/${b.relayId}`, {
        authorization: credentialsSign('GET', `/server/relay/${a.relayId}`),
      });
      expectError(answer, 401, 401);
    });

    it('refuses with 401 a request whose query was changed after signing', async () => {
      const answer = await server('GET', '/server/auth/token?user_id=mallory', {
        authorization: v2Sign('GET', '/server/auth/token?user_id=alice'),
      });
      expectError(answer, 401, 401);
    });

    it('refuses with 401 a request whose body was changed after signing, and does nothing', async () => {
      const r = await relay(t);
      const p = `/server/relay/${r.relayId}/stop`;
      const answer = await server('POST', p, {
        authorization: credentialsSign('POST', p, 'application/json', '{"note":"aaa"}'),
        headers: { 'content-type': 'application/json' },
        body: '{"note":"bbb"}',
      });
      expectError(answer, 401, 401);
      const after = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
      expect(after.body.data.status).toBe(1);
    });

    it('refuses with 401 a request whose method was changed after signing', async () => {
      const r = await relay(t);
      const p = `/server/relay/${r.relayId}/stop`;
      const answer = await server('POST', p, { authorization: credentialsSign('GET', p) });
      expectError(answer, 401, 401);
    });

    it('refuses with 401 a request without Authorization', async () => {
      const answer = await server('GET', `/server/auth/token?user_id=${uniqueUser()}`);
      expectError(answer, 401, 401);
    });

    it('refuses with 401 a client JWT on the server API', async () => {
      const answer = await server('GET', `/server/auth/token?user_id=${uniqueUser()}`, {
        authorization: `Bearer ${tokenFor(t, uniqueUser())}`,
      });
      expectError(answer, 401, 401);
    });
  });

  describe('server API endpoints', () => {
    async function signedGet(p: string): Promise<HttpAnswer> {
      const authorization = new Credentials(
        t.config.serverAccessKey,
        t.config.serverSecretKey,
      ).generateAccessToken({ host: '127.0.0.1', port, path: p, method: 'GET', headers: {} });
      return t.call('GET', p, { headers: { authorization } });
    }

    async function signedPost(p: string): Promise<HttpAnswer> {
      const authorization = new Credentials(
        t.config.serverAccessKey,
        t.config.serverSecretKey,
      ).generateAccessToken({ host: '127.0.0.1', port, path: p, method: 'POST', headers: {} });
      return t.call('POST', p, { headers: { authorization } });
    }

    /** A live relay between two anchors of `appId`, made through the client API. */
    async function relayInApp(appId: string): Promise<{ init: Anchor; recv: Anchor; id: string }> {
      const init = await anchor(t, { appId });
      const recv = await anchor(t, { appId });
      const started = await t.call('POST', '/client/relay/start', {
        token: init.token,
        body: { init_room_id: init.liveId, recv_room_id: recv.liveId, recv_user_id: recv.userId },
      });
      expectOk(started);
      return { init, recv, id: started.body.data.relay_id };
    }

    it('issues a client token valid about 7 days by default', async () => {
      const user = uniqueUser();
      const before = nowS();
      const answer = await signedGet(`/server/auth/token?user_id=${user}`);
      expectOk(answer);
      expect(Object.keys(answer.body.data).sort()).toEqual(['access_token', 'expires_at']);
      const { access_token, expires_at } = answer.body.data;
      expect(expires_at).toBeGreaterThanOrEqual(before + 7 * DAY_S);
      expect(expires_at).toBeLessThanOrEqual(nowS() + 7 * DAY_S);
      const claims = decode(access_token) as Record<string, unknown>;
      expect(claims.UserId).toBe(user);
      expect(claims.exp).toBe(expires_at);
    });

    it('issues a token that works on the client API', async () => {
      const user = uniqueUser();
      const issued = await signedGet(`/server/auth/token?user_id=${user}`);
      const created = await t.call('POST', '/client/live/room/instance', {
        token: issued.body.data.access_token,
        body: { title: 'issued' },
      });
      expectOk(created);
      expect(created.body.data.anchor_id).toBe(user);
      const read = await t.call('GET', `/client/live/room/info/${created.body.data.live_id}`, {
        token: tokenFor(t, uniqueUser(), { appId: 'default' }),
      });
      expectOk(read);
    });

    it('issues a token carrying app_id when given', async () => {
      const user = uniqueUser();
      const issued = await signedGet(`/server/auth/token?user_id=${user}&app_id=tenant_issued`);
      expectOk(issued);
      const claims = decode(issued.body.data.access_token) as Record<string, unknown>;
      expect(claims.AppId).toBe('tenant_issued');
      const created = await t.call('POST', '/client/live/room/instance', {
        token: issued.body.data.access_token,
        body: { title: 'issued in tenant' },
      });
      expectOk(created);
      const liveId = created.body.data.live_id;
      const sameApp = await t.call('GET', `/client/live/room/info/${liveId}`, {
        token: tokenFor(t, uniqueUser(), { appId: 'tenant_issued' }),
      });
      expectOk(sameApp);
      const otherApp = await t.call('GET', `/client/live/room/info/${liveId}`, {
        token: tokenFor(t, uniqueUser()),
      });
      expectError(otherApp, 404, 404);
    });

    it('issues a token carrying device_id when given', async () => {
      const issued = await signedGet(`/server/auth/token?user_id=${uniqueUser()}&device_id=ios-1`);
      expectOk(issued);
      const claims = decode(issued.body.data.access_token) as Record<string, unknown>;
      expect(claims).toMatchObject({ DeviceId: 'ios-1', AppId: 'default' });
    });

    it('refuses a device_id with control characters, as every text field does', async () => {
      const answer = await signedGet(`/server/auth/token?user_id=${uniqueUser()}&device_id=a%07b`);
      expectError(answer, 400, 400);
      expect(answer.body.message).toMatch(/device_id must not contain control characters/);
    });

    it('honours an expires_at within 30 days', async () => {
      const expiresAt = nowS() + 3 * DAY_S;
      const answer = await signedGet(
        `/server/auth/token?user_id=${uniqueUser()}&expires_at=${expiresAt}`,
      );
      expectOk(answer);
      expect(answer.body.data.expires_at).toBe(expiresAt);
      expect((decode(answer.body.data.access_token) as { exp: number }).exp).toBe(expiresAt);
    });

    it('answers 400 to an expires_at more than 30 days ahead', async () => {
      const answer = await signedGet(
        `/server/auth/token?user_id=${uniqueUser()}&expires_at=${nowS() + 31 * DAY_S}`,
      );
      expectError(answer, 400, 400);
    });

    it('answers 400 to an expires_at in the past', async () => {
      const answer = await signedGet(
        `/server/auth/token?user_id=${uniqueUser()}&expires_at=${nowS() - 60}`,
      );
      expectError(answer, 400, 400);
    });

    it('answers 400 to a missing user_id', async () => {
      expectError(await signedGet('/server/auth/token'), 400, 400);
    });

    it('answers 400 to a user_id outside the identifier pattern', async () => {
      expectError(await signedGet('/server/auth/token?user_id=bad%24user'), 400, 400);
    });

    it("reads a relay of any app's", async () => {
      const r = await relayInApp('tenant_read');
      const answer = await signedGet(`/server/relay/${r.id}`);
      expectOk(answer);
      expect(answer.body.data).toMatchObject({
        sid: r.id,
        relay_id: r.id,
        app_id: 'tenant_read',
        init_user_id: r.init.userId,
        init_room_id: r.init.liveId,
        recv_user_id: r.recv.userId,
        recv_room_id: r.recv.liveId,
        status: 1,
        stop_reason: '',
      });
    });

    it('answers 404 to an unknown relay id', async () => {
      expectError(await signedGet('/server/relay/relay_does_not_exist'), 404, 404);
    });

    it('answers 404 to stopping an unknown relay id', async () => {
      expectError(await signedPost('/server/relay/relay_does_not_exist/stop'), 404, 404);
    });

    it('stops a relay with stop_reason admin and releases both rooms', async () => {
      const r = await relayInApp('tenant_stop');
      const stopped = await signedPost(`/server/relay/${r.id}/stop`);
      expectOk(stopped);
      expect(stopped.body.data).toEqual({ relay_id: r.id, relay_status: 6 });
      const read = await signedGet(`/server/relay/${r.id}`);
      expect(read.body.data).toMatchObject({ status: 6, stop_reason: 'admin' });
      expect(read.body.data.stop_at).toEqual(expect.any(String));
      for (const side of [r.init, r.recv]) {
        const room = await t.call('GET', `/client/live/room/info/${side.liveId}`, {
          token: side.token,
        });
        expect(room.body.data.pk_id).toBe('');
      }
    });

    it('answers success with no change to a repeated stop', async () => {
      const r = await relayInApp('tenant_repeat');
      expectOk(await signedPost(`/server/relay/${r.id}/stop`));
      const first = await signedGet(`/server/relay/${r.id}`);
      const again = await signedPost(`/server/relay/${r.id}/stop`);
      expectOk(again);
      expect(again.body.data).toEqual({ relay_id: r.id, relay_status: 6 });
      const second = await signedGet(`/server/relay/${r.id}`);
      expect(second.body.data).toEqual(first.body.data);
    });

    it('keeps the stop_reason of a relay an anchor already stopped', async () => {
      const r = await relayInApp('tenant_prior');
      expectOk(await t.call('POST', `/client/relay/${r.id}/stop`, { token: r.recv.token }));
      const again = await signedPost(`/server/relay/${r.id}/stop`);
      expectOk(again);
      expect(again.body.data).toEqual({ relay_id: r.id, relay_status: 6 });
      const read = await signedGet(`/server/relay/${r.id}`);
      expect(read.body.data).toMatchObject({ status: 6, stop_reason: 'stopped' });
    });
  });
});
