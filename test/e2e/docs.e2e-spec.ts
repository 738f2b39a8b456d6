import { runInNewContext } from 'node:vm';
import { verifyQiniuMac } from '../../src/auth/qiniu-mac';
import { DEV_KEYS } from '../../src/config/app.config';
import { startTestApp, TestApp } from '../utils/test-app';

/** Every route of docs/api.md (rooms, relays and the server API), as OpenAPI paths. */
const ROUTES: [string, string][] = [
  ['post', '/client/live/room/instance'],
  ['get', '/client/live/room/info/{live_id}'],
  ['put', '/client/live/room/{live_id}'],
  ['delete', '/client/live/room/{live_id}'],
  ['get', '/client/live/room/heartbeat/{live_id}'],
  ['post', '/client/relay/start'],
  ['get', '/client/relay'],
  ['get', '/client/relay/{relay_id}'],
  ['get', '/client/relay/{relay_id}/token'],
  ['post', '/client/relay/{relay_id}/accept'],
  ['post', '/client/relay/{relay_id}/reject'],
  ['post', '/client/relay/{relay_id}/started'],
  ['post', '/client/relay/{relay_id}/stop'],
  ['post', '/client/relay/{relay_id}/extends'],
  ['get', '/server/auth/token'],
  ['get', '/server/relay/{relay_id}'],
  ['post', '/server/relay/{relay_id}/stop'],
];

describe('API docs', () => {
  let t: TestApp;
  let doc: any;
  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.call('GET', '/docs-json')).body;
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves Swagger UI at /docs', async () => {
    const answer = await t.call('GET', '/docs');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/text\/html/);
    expect(answer.text).toMatch(/swagger/i);
  });

  it('starts Swagger UI with the signing interceptor and with authorization kept over reloads', async () => {
    // The page's own scripts, in the order the page runs them, with Swagger UI itself stubbed
    // out to catch the options it is started with.
    const html = (await t.call('GET', '/docs')).text;
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(inline).toHaveLength(1);
    const init = await t.call('GET', '/docs/swagger-ui-init.js', { unchecked: true });
    expect(init.status).toBe(200);
    let options: any;
    const SwaggerUIBundle = Object.assign(
      (given: unknown) => {
        options = given;
        return { initOAuth: () => undefined };
      },
      { presets: { apis: {} }, plugins: { DownloadUrl: {} } },
    );
    const page: any = {
      URL,
      TextEncoder,
      SwaggerUIBundle,
      SwaggerUIStandalonePreset: {},
      location: {
        search: '',
        origin: 'http://docs.example:8080',
        href: 'http://docs.example:8080/docs',
      },
    };
    page.window = page;
    runInNewContext(init.text, page);
    runInNewContext(inline[0], page);
    page.onload();

    expect(options.persistAuthorization).toBe(true);
    const request = options.requestInterceptor({
      url: 'http://docs.example:8080/server/relay/relay_1?x=1',
      method: 'GET',
      headers: { Authorization: `${DEV_KEYS.SERVER_ACCESS_KEY}:${DEV_KEYS.SERVER_SECRET_KEY}` },
    });
    expect(
      verifyQiniuMac(
        request.headers.Authorization,
        {
          method: 'GET',
          url: '/server/relay/relay_1?x=1',
          host: 'docs.example:8080',
          contentType: undefined,
          headers: {},
          body: '',
        },
        t.config.serverAccessKey,
        t.config.serverSecretKey,
      ),
    ).toBe(true);
  });

  it('serves an OpenAPI 3 document with a Bearer scheme for the authorize button', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.qiniu).toMatchObject({ type: 'apiKey', in: 'header' });
  });

  it.each(ROUTES)('describes %s %s with its envelope and security', (method, path) => {
    const operation = doc.paths[path]?.[method];
    expect(operation).toBeDefined();
    expect(operation.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'request_id',
    );
    const scheme = path.startsWith('/server/') ? 'qiniu' : 'bearer';
    expect(operation.security).toEqual([{ [scheme]: [] }]);
  });

  it('documents request bodies with their fields', () => {
    const ref: string =
      doc.paths['/client/relay/start'].post.requestBody.content['application/json'].schema.$ref;
    const schema = doc.components.schemas[ref.split('/').pop() as string];
    // The receivers come in one of two forms, each optional by itself; the descriptions say so.
    expect(schema.required).toEqual(['init_room_id']);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['recv_room_id', 'recv_user_id', 'recv_rooms']),
    );
    expect(schema.properties.recv_room_id.description).toMatch(/required unless recv_rooms/);
    expect(schema.properties.recv_rooms).toMatchObject({ type: 'array', minItems: 1, maxItems: 8 });
    const entry = doc.components.schemas[schema.properties.recv_rooms.items.$ref.split('/').pop()];
    expect(entry.required).toEqual(['room_id', 'user_id']);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['extends', 'duration_s', 'mode']),
    );
  });
});
