/**
 * docs/api.md, "Envelope and errors": what the HTTP layer itself answers — framing Node refuses,
 * deep JSON, compressed bodies, repeated query parameters, wrong methods, HEAD, and text fields
 * with control characters — is the envelope with its X-Request-Id like every other answer.
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { anchor, relay, tokenFor, uniqueUser } from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/**
 * Sends bytes as they are over a new connection, half-closes it when told to, and reads until
 * the server closes it: the only way to send what fetch refuses to frame.
 */
function rawRequest(port: number, bytes: string, halfClose = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = text.slice(split + 4);
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: body.length > 0 ? JSON.parse(body) : undefined,
      });
    });
    socket.write(bytes, () => {
      if (halfClose) socket.end();
    });
  });
}

function expectRawEnvelope(answer: RawAnswer, status: number, message: RegExp): void {
  expect({ status: answer.status, code: answer.body?.code }).toEqual({ status, code: status });
  expect(Object.keys(answer.body).sort()).toEqual(['code', 'message', 'request_id']);
  expect(answer.body.message).toMatch(message);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.headers['x-request-id']).toBe(answer.body.request_id);
  expect(answer.body.request_id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
}

function expectEnvelopeError(answer: HttpAnswer, status: number, message: string | RegExp): void {
  expectError(answer, status);
  expect(answer.body.message).toMatch(message);
  expect(answer.headers.get('x-request-id')).toBe(answer.body.request_id);
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('the HTTP layer answers in the envelope (docs/api.md, "Envelope and errors")', () => {
  let t: TestApp;
  let port: number;
  let token: string;

  beforeAll(async () => {
    t = await startTestApp();
    port = Number(new URL(t.baseUrl).port);
    token = tokenFor(t, uniqueUser());
  });
  afterAll(async () => {
    await t.close();
  });

  describe('JSON nesting', () => {
    const paths = {
      'POST /client/live/room/instance': () => '/client/live/room/instance',
      'POST /client/relay/start': () => '/client/relay/start',
      'POST /client/relay/{relay_id}/extends': async () =>
        `/client/relay/${(await relay(t)).relayId}/extends`,
    };

    it.each(Object.keys(paths))('%s: 1,300 levels deep is 400, not 500', async (name) => {
      const path = await paths[name as keyof typeof paths]();
      const answer = await t.call('POST', path, {
        token,
        body: `{"title":${nested(1300)},"extends":${nested(1300)}}`,
      });
      expectEnvelopeError(answer, 400, 'JSON body is nested deeper than 32 levels');
    });

    it('counts levels outside strings only: 32 is read, 33 refused', async () => {
      // The object itself is the first level, so 31 arrays inside it make 32.
      const at32 = await t.call('POST', '/client/live/room/instance', {
        token,
        body: `{"title":"[[[{{{ \\" [[[","notice":${nested(31)}}`,
      });
      expectEnvelopeError(at32, 400, 'notice must be a string');
      const at33 = await t.call('POST', '/client/live/room/instance', {
        token,
        body: `{"title":"x","notice":${nested(32)}}`,
      });
      expectEnvelopeError(at33, 400, 'JSON body is nested deeper than 32 levels');
    });
  });

  describe('framing Node refuses (raw socket)', () => {
    const post = (headers: string, body: string) =>
      `POST /client/live/room/instance HTTP/1.1\r\nHost: localhost\r\n` +
      `Content-Type: application/json\r\n${headers}\r\n${body}`;

    it('headers too large: 431, code 431', async () => {
      const answer = await rawRequest(
        port,
        `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expectRawEnvelope(answer, 431, /headers are too large/);
      expect(answer.headers.connection).toBe('close');
    });

    it.each<[string, string, string, RegExp]>([
      [
        'both Content-Length and Transfer-Encoding',
        'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n',
        '0\r\n\r\n',
        /Transfer-Encoding.*Content-Length|Content-Length.*Transfer-Encoding/,
      ],
      ['a bad Content-Length', 'Content-Length: 1x\r\n', '{}', /Content-Length is not a valid/],
      ['a bad chunk', 'Transfer-Encoding: chunked\r\n', 'zz\r\n{}\r\n0\r\n\r\n', /chunked body/],
    ])('%s: 400', async (_what, headers, body, message) => {
      const answer = await rawRequest(port, post(headers, body));
      expectRawEnvelope(answer, 400, message);
      expect(answer.headers.connection).toBe('close');
    });

    it('a body shorter than announced, then a half-close: 400', async () => {
      const answer = await rawRequest(
        port,
        post(`Authorization: Bearer ${token}\r\nContent-Length: 100\r\n`, '{"title":"short"}'),
        true,
      );
      expectRawEnvelope(answer, 400, /request ended before it was complete/);
    });

    it.each<[string, string]>([
      ['a short body', 'Content-Length: 100\r\n\r\n{"x":1}'],
      ['a bad chunk', 'Transfer-Encoding: chunked\r\n\r\n2\r\n{"x":1}\r\n0\r\n\r\n'],
    ])('a GET with a body (%s) is 400 however the body ends', async (_, rest) => {
      const answer = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${rest}`, true);
      expectRawEnvelope(answer, 400, /a GET request has no body/);
    });

    it('a missing Host header: 400', async () => {
      const answer = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
      expectRawEnvelope(answer, 400, /Host header is required/);
    });

    it('HTTP/1.0 needs no Host', async () => {
      const answer = await rawRequest(port, 'GET /healthz HTTP/1.0\r\n\r\n');
      expect(answer.status).toBe(200);
    });
  });

  describe('HEAD', () => {
    const head = (path: string, headers: Record<string, string> = {}) =>
      fetch(t.baseUrl + path, { method: 'HEAD', headers, signal: AbortSignal.timeout(5000) });

    it('HEAD /client/relay/events answers 200 text/event-stream and ends at once', async () => {
      const answer = await head('/client/relay/events', { authorization: `Bearer ${token}` });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(answer.headers.get('x-request-id')).toMatch(/\S/);
      expect(await answer.text()).toBe('');
    });

    it('HEAD /client/relay/events without a token is 401 like GET, with no body', async () => {
      const answer = await head('/client/relay/events');
      expect(answer.status).toBe(401);
      expect(answer.headers.get('x-request-id')).toMatch(/\S/);
      expect(await answer.text()).toBe('');
    });

    it('HEAD of a JSON route answers the GET status and headers without a body', async () => {
      const get = await t.call('GET', '/client/relay', { token });
      const answer = await head('/client/relay', { authorization: `Bearer ${token}` });
      expect(answer.status).toBe(get.status);
      expect(answer.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expect(await answer.text()).toBe('');
    });
  });

  describe('Content-Encoding', () => {
    const create = (encoding: string, body: string | Buffer) =>
      fetch(`${t.baseUrl}/client/live/room/instance`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': encoding,
        },
        body,
      });

    it.each([
      ['br on a plain body', 'br', '{"title":"plain"}'],
      ['gzip on a gzip body', 'gzip', gzipSync('{"title":"zipped"}')],
    ])('%s: 400, bodies are not compressed', async (_what, encoding, body) => {
      const response = await create(encoding, body);
      const answer = { status: response.status, headers: response.headers } as HttpAnswer;
      answer.body = await response.json();
      expectEnvelopeError(answer, 400, /bodies are not compressed/);
    });

    it('identity is a plain body', async () => {
      const response = await create('identity', '{"title":"plain"}');
      expect(response.status).toBe(200);
    });
  });

  it('a repeated query parameter gets one message: "limit must be given once"', async () => {
    const answer = await t.call('GET', '/client/relay?limit=1&limit=2', { token });
    expectError(answer, 400);
    expect(answer.body.message).toBe('limit must be given once');
  });

  describe('wrong method', () => {
    it.each<[string, string, string]>([
      ['POST', '/healthz', 'GET, HEAD'],
      ['PUT', '/client/relay/relay_x/accept', 'POST'],
      ['PATCH', '/client/live/room/info/room_x?x=1', 'GET, HEAD'],
    ])('%s %s: 405 with Allow: %s', async (method, path, allow) => {
      const answer = await t.call(method, path, { token, unchecked: true });
      expectEnvelopeError(answer, 405, new RegExp(`^${method} is not allowed here`));
      expect(answer.headers.get('allow')).toBe(allow);
    });

    it('an unknown path is still 404', async () => {
      const answer = await t.call('POST', '/client/nothing/here', { token, unchecked: true });
      expectEnvelopeError(answer, 404, 'no such route');
    });
  });

  describe('text fields refuse control characters and lone surrogates', () => {
    const refused = 'must not contain control characters or unpaired surrogates';

    it.each<[string, string]>([
      ['title', '{"title":"a\\u0000b"}'],
      ['title', '{"title":"a\\ud800b"}'],
      ['notice', '{"title":"t","notice":"\\u001b[31m"}'],
      ['cover_url', '{"title":"t","cover_url":"x\\u007f"}'],
      ['extends.k', '{"title":"t","extends":{"k":"\\udc00"}}'],
      ['extends keys', '{"title":"t","extends":{"k\\u0001":"v"}}'],
    ])('room create: %s in %s is 400 naming it', async (field, body) => {
      const answer = await t.call('POST', '/client/live/room/instance', { token, body });
      expectEnvelopeError(answer, 400, `${field} ${refused}`);
    });

    it('room create keeps tab, line feed, carriage return and emoji', async () => {
      const title = 'line\tone\r\ntwo 😀';
      const answer = await t.call('POST', '/client/live/room/instance', {
        token,
        body: { title, extends: { 'k\t': 'v\n😀' } },
      });
      expect(expectOk(answer)).toMatchObject({ title, extends: { 'k\t': 'v\n😀' } });
    });

    it('relay start and relay extends refuse them in extends', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const started = await t.call('POST', '/client/relay/start', {
        token: init.token,
        body: `{"init_room_id":"${init.liveId}","recv_room_id":"${recv.liveId}","recv_user_id":"${recv.userId}","extends":{"k":"\\u0000"}}`,
      });
      expectEnvelopeError(started, 400, `extends.k ${refused}`);
      const { relayId, init: owner } = await relay(t);
      const patched = await t.call('POST', `/client/relay/${relayId}/extends`, {
        token: owner.token,
        body: '{"extends":{"k":"\\ud83d"}}',
      });
      expectEnvelopeError(patched, 400, `extends.k ${refused}`);
    });
  });
});
