import { createHash, randomBytes } from 'node:crypto';
import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { runInNewContext } from 'node:vm';
import { qiniuSignV2 } from '../../test/utils/qiniu-sdk';
import { verifyQiniuMac } from '../auth/qiniu-mac';
import { STREAM_PREVIEW_S, SWAGGER_UI_SCRIPT } from './swagger-ui.script';

interface SwaggerRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  userFetch?: (url: string, init: object) => Promise<Response>;
}

interface RelaySwaggerUi {
  interceptRequest(request: SwaggerRequest): SwaggerRequest;
  qiniuAuthorization(
    accessKey: string,
    secretKey: string,
    url: string,
    method: string,
    contentType?: string,
    body?: string,
    headers?: Record<string, string>,
  ): string;
  sha1(bytes: number[]): number[];
  previewEventStream(url: string, init: object, millis: number): Promise<Response>;
}

/**
 * The script as the browser gets it, in a context that has only what a page in an insecure
 * context has too: no `crypto`, no `Buffer`, no `require`.
 */
function loadScript(): RelaySwaggerUi {
  const context: Record<string, unknown> = {
    URL,
    TextEncoder,
    TextDecoder,
    AbortController,
    Response,
    fetch,
    setTimeout,
    clearTimeout,
  };
  runInNewContext(SWAGGER_UI_SCRIPT, context);
  return context.relaySwaggerUi as RelaySwaggerUi;
}

const AK = 'dev-server-access-key';
const SK = 'dev-server-secret-key';
const ui = loadScript();

describe('the Swagger UI script', () => {
  describe('sha1', () => {
    // Around the 55/56/64-byte edges the padding spills into another block.
    it.each([0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 70_000])(
      'hashes %i bytes as node:crypto does',
      (length) => {
        const bytes = randomBytes(length);
        const digest = ui.sha1(Array.from(bytes));
        expect(Buffer.from(digest).toString('hex')).toBe(
          createHash('sha1').update(bytes).digest('hex'),
        );
      },
    );

    it('gives the published digest of "abc"', () => {
      const digest = ui.sha1([0x61, 0x62, 0x63]);
      expect(Buffer.from(digest).toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    });
  });

  describe('qiniuAuthorization, against the SDK', () => {
    type Case = [string, string, string, string?, string?, Record<string, string>?];
    const cases: Case[] = [
      [
        'GET without body, a port and a query',
        'GET',
        'http://relay.test:8080/server/relay/r_1?x=1&y=%E4%B8%AD',
      ],
      ['GET without port or query', 'get', 'http://relay.example.com/server/relay/r_1'],
      [
        'GET whose query the URL parser re-encodes',
        'GET',
        'http://h:81/server/auth/token?user_id=a b',
      ],
      [
        'POST with a UTF-8 body',
        'POST',
        'http://127.0.0.2:3000/server/relay/r_1/score',
        'application/json',
        '{"title":"主播 PK ✓ café 😀"}',
      ],
      [
        'POST with a lone surrogate in the body',
        'POST',
        'http://relay.test/server/x',
        'application/json',
        '{"a":"\ud800"}',
      ],
      [
        'POST with X-Qiniu-* headers in any case',
        'POST',
        'http://relay.test/server/relay/r_1/stop',
        'application/json',
        '{}',
        {
          'x-qiniu-date': '20261125T000000Z',
          'X-QINIU-TRACE': 'abc',
          Accept: '*/*',
          'X-Qiniu-': 'no',
        },
      ],
      [
        'POST whose octet-stream body is not signed',
        'POST',
        'http://relay.test/server/blob',
        'application/octet-stream',
        'bytes',
      ],
      [
        'POST with a body and no Content-Type',
        'POST',
        'http://relay.test/server/x',
        undefined,
        'a=1',
      ],
    ];

    // A rest parameter: jest would take a sixth named one for a `done` callback.
    it.each(cases)('%s', (...[, method, url, contentType, body, headers]: Case) => {
      expect(ui.qiniuAuthorization(AK, SK, url, method, contentType, body, headers)).toBe(
        qiniuSignV2(AK, SK, url, method, contentType, body, headers),
      );
    });

    it('with a secret key longer than a SHA-1 block, and not ASCII', () => {
      const secret = '密钥'.repeat(20) + randomBytes(40).toString('base64');
      const url = 'http://relay.test:8080/server/relay/r_1';
      expect(ui.qiniuAuthorization(AK, secret, url, 'GET')).toBe(
        qiniuSignV2(AK, secret, url, 'GET'),
      );
    });

    it('keeps the base64 padding', () => {
      expect(ui.qiniuAuthorization(AK, SK, 'http://h/', 'GET')).toMatch(
        /^Qiniu dev-server-access-key:[A-Za-z0-9_-]{27}=$/,
      );
    });
  });

  describe('interceptRequest', () => {
    /** The server's check, on the request as the browser sends it. */
    function serverAccepts(request: SwaggerRequest, accessKey = AK, secretKey = SK): boolean {
      const url = new URL(request.url);
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
      );
      return verifyQiniuMac(
        headers.authorization,
        {
          method: request.method,
          url: url.pathname + url.search,
          host: url.host,
          contentType: headers['content-type'],
          headers,
          body: typeof request.body === 'string' ? request.body : '',
        },
        accessKey,
        secretKey,
      );
    }

    it('signs a GET with the typed keys, and sends no secret', () => {
      const request = ui.interceptRequest({
        url: 'http://relay.test:8080/server/relay/r_1?trace=1',
        method: 'GET',
        headers: { Accept: 'application/json', Authorization: `${AK}:${SK}` },
      });
      expect(request.headers.Authorization).toMatch(/^Qiniu dev-server-access-key:[\w-]+=$/);
      expect(JSON.stringify(request)).not.toContain(SK);
      expect(request.headers).not.toHaveProperty('Content-Type');
      expect(serverAccepts(request)).toBe(true);
      expect(serverAccepts({ ...request, url: `${request.url}2` })).toBe(false);
      expect(serverAccepts(request, AK, 'another-secret-key')).toBe(false);
    });

    it('signs a JSON body with UTF-8 text exactly as sent', () => {
      const body = '{"title":"主播 PK ✓ café 😀"}';
      const request = ui.interceptRequest({
        url: 'http://127.0.0.2:3000/server/relay/r_1/score',
        method: 'POST',
        headers: { authorization: `${AK}:${SK}`, 'Content-Type': 'application/json' },
        body,
      });
      expect(request.body).toBe(body);
      expect(request.headers).not.toHaveProperty('authorization');
      expect(serverAccepts(request)).toBe(true);
      expect(serverAccepts({ ...request, body: body.replace('✓', 'x') })).toBe(false);
    });

    it('states the Content-Type that fetch would add to a string body, and signs it', () => {
      const request = ui.interceptRequest({
        url: 'http://relay.test/server/relay/r_1/stop',
        method: 'POST',
        headers: { Authorization: `${AK}:${SK}` },
        body: '',
      });
      expect(request.headers['Content-Type']).toBe('text/plain;charset=UTF-8');
      expect(serverAccepts(request)).toBe(true);
    });

    it('resolves a relative URL against the page', () => {
      const context: Record<string, unknown> = {
        URL,
        TextEncoder,
        location: { href: 'http://relay.test:8080/docs' },
      };
      runInNewContext(SWAGGER_UI_SCRIPT, context);
      const page = context.relaySwaggerUi as RelaySwaggerUi;
      const request = page.interceptRequest({
        url: '/server/relay/r_1',
        method: 'GET',
        headers: { Authorization: `${AK}:${SK}` },
      });
      expect(serverAccepts({ ...request, url: 'http://relay.test:8080/server/relay/r_1' })).toBe(
        true,
      );
    });

    it.each([
      ['a Bearer token', 'Bearer eyJhbGciOi.x.y'],
      ['a signature made elsewhere', `Qiniu ${AK}:c2lnbmVkIGVsc2V3aGVyZQ==`],
    ])('leaves %s as it is', (_, authorization) => {
      const request = ui.interceptRequest({
        url: 'http://relay.test/client/relay',
        method: 'GET',
        headers: { Authorization: authorization },
      });
      expect(request.headers).toEqual({ Authorization: authorization });
    });

    it('drops a value that is not <AccessKey>:<SecretKey> instead of sending it', () => {
      const request = ui.interceptRequest({
        url: 'http://relay.test/server/relay/r_1',
        method: 'GET',
        headers: { Authorization: 'only-the-secret-key' },
      });
      expect(request.headers).toEqual({});
    });

    it('hands a request for text/event-stream to the stream preview, and no other', () => {
      const stream = ui.interceptRequest({
        url: 'http://relay.test/client/relay/events',
        method: 'GET',
        headers: { accept: 'text/event-stream', Authorization: 'Bearer t' },
      });
      expect(stream.userFetch).toEqual(expect.any(Function));
      const json = ui.interceptRequest({
        url: 'http://relay.test/client/relay',
        method: 'GET',
        headers: { accept: 'application/json' },
      });
      expect(json.userFetch).toBeUndefined();
    });
  });

  describe('previewEventStream', () => {
    let server: Server;
    let baseUrl: string;
    const open = new Set<ServerResponse>();
    let closed = 0;

    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.headers.authorization !== 'Bearer good') {
          response.writeHead(401, { 'content-type': 'application/json' });
          response.end('{"request_id":"r","code":401,"message":"invalid token"}');
          return;
        }
        response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        response.write('retry: 2000\n\nid: 1\nevent: relay.status_changed\ndata: {"to":1}\n\n');
        open.add(response);
        response.on('close', () => closed++);
        if (request.url === '/ends') response.end('id: 2\ndata: {"to":6,"reason":"结束"}\n\n');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      for (const response of open) response.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('answers what arrived within its time, then closes the stream', async () => {
      const started = Date.now();
      const response = await ui.previewEventStream(
        `${baseUrl}/stream`,
        { method: 'GET', headers: { Authorization: 'Bearer good' } },
        300,
      );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      expect(text).toMatch(/^retry: 2000\n\nid: 1\nevent: relay.status_changed\ndata: \{"to":1\}/);
      expect(text).toMatch(/\n: Swagger UI stopped reading after 0.3 s; .*EventSource/);
      for (let i = 0; i < 50 && closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(closed).toBeGreaterThanOrEqual(1);
    });

    it('answers a stream that ends by itself in full, with no note', async () => {
      const response = await ui.previewEventStream(
        `${baseUrl}/ends`,
        { method: 'GET', headers: { Authorization: 'Bearer good' } },
        5000,
      );
      const text = await response.text();
      expect(text).toContain('data: {"to":6,"reason":"结束"}\n\n');
      expect(text).not.toContain('Swagger UI');
    });

    it('leaves an error envelope as it is', async () => {
      const response = await ui.previewEventStream(
        `${baseUrl}/stream`,
        { method: 'GET', headers: { Authorization: 'Bearer bad' } },
        5000,
      );
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        request_id: 'r',
        code: 401,
        message: 'invalid token',
      });
    });

    it('is what Execute uses, for the documented time', async () => {
      const request = ui.interceptRequest({
        url: `${baseUrl}/stream`,
        method: 'GET',
        headers: { Accept: 'text/event-stream', Authorization: 'Bearer good' },
      });
      const started = Date.now();
      const response = await request.userFetch!(request.url, request);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(STREAM_PREVIEW_S * 1000 - 50);
      expect(elapsed).toBeLessThan(STREAM_PREVIEW_S * 1000 + 2000);
      expect(await response.text()).toContain(
        `: Swagger UI stopped reading after ${STREAM_PREVIEW_S} s;`,
      );
    });
  });
});
