/**
 * docs/api.md, "Envelope and errors": the envelope on success and error, request ids, body and identifier
 * validation, and that no error answer leaks internals.
 */
import { anchor, relay, tokenFor, uniqueUser } from '../factories';
import { expectError } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** What a leaked stack frame looks like: "    at fn (/src/x.ts:1:2)" or a file position. */
const STACK_FRAME = /\n\s+at\s|\bat\s+\S+\s+\(|\.(ts|js):\d+(:\d+)?/;

function expectSuccess(answer: HttpAnswer): void {
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/application\/json/);
  expect(answer.body).toEqual({
    request_id: expect.any(String),
    code: 0,
    message: 'success',
    data: expect.anything(),
  });
  expect(answer.headers.get('x-request-id')).toBe(answer.body.request_id);
}

/** expectError, and what this spec adds: JSON, the request id twice, no SQL, no stack. */
function expectSafeError(answer: HttpAnswer, status: number, code: number): void {
  expectError(answer, status, code);
  expect(answer.headers.get('content-type')).toMatch(/application\/json/);
  expect(typeof answer.body.message).toBe('string');
  expect(answer.body.request_id).toMatch(REQUEST_ID);
  expect(answer.headers.get('x-request-id')).toBe(answer.body.request_id);
  expect(answer.body.message).not.toMatch(/SELECT|INSERT|UPDATE\s|DELETE\s+FROM/i);
  expect(answer.body.message).not.toMatch(STACK_FRAME);
}

describe('envelope, errors and request ids (docs/api.md, "Envelope and errors")', () => {
  let t: TestApp;
  let user: string;
  let token: string;

  beforeAll(async () => {
    t = await startTestApp();
    user = uniqueUser();
    token = tokenFor(t, user);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('envelope', () => {
    it('wraps a success in {request_id, code 0, message "success", data}', async () => {
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title: 'envelope' },
      });
      expectSuccess(answer);
      expect(answer.body.data.title).toBe('envelope');
    });

    it('wraps an error in {request_id, code, message} without data', async () => {
      const answer = await t.call('GET', '/client/live/room/info/room_does_not_exist', { token });
      expectSafeError(answer, 404, 404);
      expect(answer.body).not.toHaveProperty('data');
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a valid incoming id in the header and the body', async () => {
      const id = 'Req-1.2:3_abc';
      const answer = await t.call('GET', '/client/relay', {
        token,
        headers: { 'x-request-id': id },
      });
      expectSuccess(answer);
      expect(answer.body.request_id).toBe(id);
      expect(answer.headers.get('x-request-id')).toBe(id);
    });

    it('echoes an id of exactly 128 characters', async () => {
      const id = 'a'.repeat(128);
      const answer = await t.call('GET', '/client/relay', {
        token,
        headers: { 'x-request-id': id },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.request_id).toBe(id);
      expect(answer.headers.get('x-request-id')).toBe(id);
    });

    it('echoes a valid incoming id on an error answer too', async () => {
      const id = 'error-request-7';
      const answer = await t.call('GET', '/client/relay', { headers: { 'x-request-id': id } });
      expectSafeError(answer, 401, 401);
      expect(answer.body.request_id).toBe(id);
      expect(answer.headers.get('x-request-id')).toBe(id);
    });

    it('generates an id when none is sent', async () => {
      const answer = await t.call('GET', '/client/relay', { token });
      expectSuccess(answer);
      expect(answer.body.request_id).toMatch(REQUEST_ID);
    });

    it('generates a different id for each request', async () => {
      const a = await t.call('GET', '/client/relay', { token });
      const b = await t.call('GET', '/client/relay', { token });
      expect(a.body.request_id).not.toBe(b.body.request_id);
    });

    it('replaces an id of 129 characters with a generated one', async () => {
      const id = 'a'.repeat(129);
      const answer = await t.call('GET', '/client/relay', {
        token,
        headers: { 'x-request-id': id },
      });
      expectSuccess(answer);
      expect(answer.body.request_id).not.toBe(id);
      expect(answer.body.request_id).toMatch(REQUEST_ID);
    });

    it('replaces an id containing a space with a generated one', async () => {
      const id = 'has space';
      const answer = await t.call('GET', '/client/relay', {
        token,
        headers: { 'x-request-id': id },
      });
      expectSuccess(answer);
      expect(answer.body.request_id).not.toBe(id);
      expect(answer.body.request_id).toMatch(REQUEST_ID);
    });

    it('replaces an id with a character outside [A-Za-z0-9._:-] with a generated one', async () => {
      const id = 'abc/def';
      const answer = await t.call('GET', '/client/relay', {
        token,
        headers: { 'x-request-id': id },
      });
      expectSuccess(answer);
      expect(answer.body.request_id).not.toBe(id);
      expect(answer.body.request_id).toMatch(REQUEST_ID);
    });
  });

  describe('request bodies', () => {
    it('answers 400/400 to malformed JSON', async () => {
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: '{"title": "oops",',
      });
      expectSafeError(answer, 400, 400);
    });

    it('answers 400/400 to an unknown body field', async () => {
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title: 'x', colour: 'red' },
      });
      expectSafeError(answer, 400, 400);
      expect(answer.body.message).toMatch(/colour/);
    });

    it('answers 400/400 to an ill-typed field', async () => {
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title: 42 },
      });
      expectSafeError(answer, 400, 400);
      expect(answer.body.message).toMatch(/title/);
    });

    it('answers 400/400 to a value out of range', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await t.call('POST', '/client/relay/start', {
        token: a.token,
        body: {
          init_room_id: a.liveId,
          recv_room_id: b.liveId,
          recv_user_id: b.userId,
          duration_s: 5,
        },
      });
      expectSafeError(answer, 400, 400);
      expect(answer.body.message).toMatch(/duration_s/);
    });

    it('names each missing field as required, once', async () => {
      const answer = await t.call('POST', '/client/relay/start', { token, body: {} });
      expectSafeError(answer, 400, 400);
      expect(answer.body.message).toBe(
        'init_room_id is required; recv_room_id is required; recv_user_id is required',
      );
    });

    it('gives one message per bad field: its type before its range', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const base = { init_room_id: a.liveId, recv_room_id: b.liveId, recv_user_id: b.userId };
      const wrongType = await t.call('POST', '/client/relay/start', {
        token: a.token,
        body: { ...base, duration_s: 'soon' },
      });
      expectSafeError(wrongType, 400, 400);
      expect(wrongType.body.message).toBe('duration_s must be an integer number');
      const twoBad = await t.call('POST', '/client/relay/start', {
        token: a.token,
        body: { ...base, duration_s: 5, mode: 'later' },
      });
      expectSafeError(twoBad, 400, 400);
      expect(twoBad.body.message).toBe(
        'duration_s must not be less than 10; mode must be one of the following values: auto, invite',
      );
    });

    it('answers 400/400 to a JSON body that is not an object', async () => {
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: '[1, 2, 3]',
      });
      expectSafeError(answer, 400, 400);
    });

    it('answers HTTP 413 with code 413 to a body over 64 KiB', async () => {
      const body = JSON.stringify({ title: 'x'.repeat(64 * 1024) });
      expect(Buffer.byteLength(body)).toBeGreaterThan(64 * 1024);
      const answer = await t.call('POST', '/client/live/room/instance', { token, body });
      expectSafeError(answer, 413, 413);
    });

    it('answers HTTP 413 with code 413 to a chunked body over 64 KiB (no Content-Length)', async () => {
      const bytes = new TextEncoder().encode(JSON.stringify({ title: 'x'.repeat(70 * 1024) }));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      });
      const init = {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
        duplex: 'half',
      };
      const response = await fetch(`${t.baseUrl}/client/live/room/instance`, init as RequestInit);
      const text = await response.text();
      expectSafeError(
        { status: response.status, headers: response.headers, body: JSON.parse(text), text },
        413,
        413,
      );
    });

    it('does not refuse a body of exactly 64 KiB as too large', async () => {
      const frame = JSON.stringify({ title: '' });
      const body = JSON.stringify({ title: 'x'.repeat(64 * 1024 - frame.length) });
      expect(Buffer.byteLength(body)).toBe(64 * 1024);
      const answer = await t.call('POST', '/client/live/room/instance', { token, body });
      // Too long a title for the room, but not too large a body.
      expectSafeError(answer, 400, 400);
    });

    it('accepts a bodiless action POSTed with Content-Type application/json and no body', async () => {
      const r = await relay(t);
      const answer = await t.call('POST', `/client/relay/${r.relayId}/stop`, {
        token: r.init.token,
        headers: { 'content-type': 'application/json' },
      });
      expectSuccess(answer);
      expect(answer.body.data).toEqual({ relay_id: r.relayId, relay_status: 6 });
    });

    it('accepts a bodiless action POSTed with no Content-Type at all', async () => {
      const r = await relay(t);
      const answer = await t.call('POST', `/client/relay/${r.relayId}/stop`, {
        token: r.recv.token,
      });
      expectSuccess(answer);
      expect(answer.body.data).toEqual({ relay_id: r.relayId, relay_status: 6 });
    });
  });

  describe('path identifiers', () => {
    it('answers 400, not 404, to a room id with a character outside the pattern', async () => {
      const answer = await t.call('GET', `/client/live/room/info/${encodeURIComponent('bad$id')}`, {
        token,
      });
      expectSafeError(answer, 400, 400);
    });

    it('answers 400, not 404, to a room id of 65 characters', async () => {
      const answer = await t.call('GET', `/client/live/room/info/${'r'.repeat(65)}`, { token });
      expectSafeError(answer, 400, 400);
    });

    it('answers 400 with the envelope to a room id of 200 characters', async () => {
      const answer = await t.call('GET', `/client/live/room/info/${'r'.repeat(200)}`, {
        token,
        headers: { 'x-request-id': 'long-id-1' },
      });
      expectSafeError(answer, 400, 400);
      expect(answer.body.request_id).toBe('long-id-1');
    });

    it('answers a path with a malformed percent-encoding (%ZZ) with a 400 envelope', async () => {
      const answer = await t.call('GET', '/client/live/room/info/%ZZ', {
        token,
        headers: { 'x-request-id': 'bad-url-1' },
      });
      expectSafeError(answer, 400, 400);
      expect(answer.body.request_id).toBe('bad-url-1');
    });

    it('accepts a room id of 64 characters (and answers 404 for it)', async () => {
      const answer = await t.call('GET', `/client/live/room/info/${'r'.repeat(64)}`, { token });
      expectSafeError(answer, 404, 404);
    });

    it('answers 400, not 404, to a relay id with a space', async () => {
      const answer = await t.call('GET', `/client/relay/${encodeURIComponent('bad id')}`, {
        token,
      });
      expectSafeError(answer, 400, 400);
    });

    it('answers 400, not 404, to a relay id of 65 characters on an action', async () => {
      const answer = await t.call('POST', `/client/relay/${'x'.repeat(65)}/stop`, { token });
      expectSafeError(answer, 400, 400);
    });
  });

  describe('routes', () => {
    it('answers an unknown route with a 404 envelope', async () => {
      const answer = await t.call('GET', '/client/no/such/route', {
        token,
        headers: { 'x-request-id': 'unknown-route-1' },
        unchecked: true,
      });
      expectSafeError(answer, 404, 404);
      expect(answer.body.request_id).toBe('unknown-route-1');
    });

    it('answers an unknown route outside the API with a 404 envelope', async () => {
      const answer = await t.call('GET', '/nothing-here', { unchecked: true });
      expectSafeError(answer, 404, 404);
    });
  });

  describe('no internals in error answers', () => {
    it('never answers 5xx, SQL or a stack trace to malformed requests', async () => {
      const r = await relay(t);
      const outsider = tokenFor(t, uniqueUser());
      const probes: [string, string, { token?: string; body?: unknown }][] = [
        ['POST', '/client/live/room/instance', { token, body: '{"title":' }],
        ['POST', '/client/live/room/instance', { token, body: '{"__proto__": {"x": 1}}' }],
        ['POST', '/client/live/room/instance', { token, body: { title: null } }],
        ['POST', '/client/live/room/instance', { token, body: { title: 'x', extends: 'a' } }],
        ['POST', '/client/live/room/instance', { token, body: { title: 'x', extends: [1] } }],
        ['POST', '/client/live/room/instance', { token, body: { title: 'x'.repeat(300) } }],
        ['POST', '/client/live/room/instance', { token, body: "'; DROP TABLE live_room; --" }],
        ['GET', `/client/live/room/info/${encodeURIComponent("x' OR '1'='1")}`, { token }],
        ['PUT', `/client/live/room/${r.init.liveId}`, { token: outsider }],
        ['DELETE', '/client/live/room/room_missing', { token }],
        ['POST', '/client/relay/start', { token, body: { init_room_id: 1 } }],
        ['POST', '/client/relay/start', { token, body: { init_room_id: 'a', recv_room_id: 'a' } }],
        ['POST', `/client/relay/${r.relayId}/extends`, { token: r.init.token, body: {} }],
        [
          'POST',
          `/client/relay/${r.relayId}/extends`,
          { token: r.init.token, body: { extends: { k: 1 } } },
        ],
        ['GET', '/client/relay?limit=abc&cursor=zz&status=x&role=boss', { token }],
        ['GET', '/client/relay?limit=1000000000000000000000', { token }],
        ['GET', `/client/relay/${r.relayId}/token`, { token: outsider }],
        ['POST', `/client/relay/${r.relayId}/accept`, { token: r.init.token }],
      ];
      for (const [method, path, options] of probes) {
        const answer = await t.call(method, path, options);
        expect({ method, path, status: answer.status }).toEqual({
          method,
          path,
          status: expect.any(Number),
        });
        if (answer.status >= 500) {
          throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text}`);
        }
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expectSafeError(answer, answer.status, answer.body.code);
      }
    });
  });
});
