/**
 * The OpenAPI document is complete (every route with its envelope, error codes and examples,
 * security and tag) and the validator that the harness runs on every answer really fails on a
 * wrong one, so a green suite means the docs describe what the service sends.
 */
import { relay, tokenFor, uniqueUser } from '../factories';
import {
  OpenApiMismatch,
  OpenApiValidator,
  openApiValidator,
  toJsonSchema,
} from '../utils/openapi-validator';
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { startTestApp, TestApp } from '../utils/test-app';

const CLIENT = [400, 401, 499, 429];
const SERVER = [400, 401];
const DATABASE = [500, 602];
/** What the HTTP layer answers on any path before a route runs: framing, methods, headers. */
const HTTP_LAYER = [400, 405, 431];
/** Headers the docs require, besides X-Request-Id on every answer. */
const ERROR_HEADERS: Record<string, string[]> = { '405': ['Allow'], '429': ['Retry-After'] };

const HTTP_STATUS: Record<number, number> = { 499: 401, 600: 409, 601: 409, 602: 500 };
/** Every code a route can answer: its own, then the HTTP layer's. */
const codesOf = (route: RouteDoc) => [...new Set([...route.codes, ...HTTP_LAYER])];
const statusOf = (code: number) => HTTP_STATUS[code] ?? code;

interface RouteDoc {
  method: string;
  path: string;
  tag: string;
  security: 'bearer' | 'qiniu' | null;
  /** The `data` model of the JSON envelope, or the media type of a success that is not one. */
  success: string;
  /** Every code the route can answer besides 0. */
  codes: number[];
  /** The request body's model, for routes that take one. */
  body?: string;
  /** A body whose every field may be left out (each has a default). */
  optionalFields?: true;
}

/** Every route the service answers (docs/api.md, docs/events.md, docs/operations.md). */
const ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/client/live/room/instance',
    tag: 'rooms',
    security: 'bearer',
    success: 'RoomView',
    codes: [...CLIENT, 413, ...DATABASE],
    body: 'CreateRoomDto',
  },
  {
    method: 'get',
    path: '/client/live/room/info/{live_id}',
    tag: 'rooms',
    security: 'bearer',
    success: 'RoomView',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  {
    method: 'put',
    path: '/client/live/room/{live_id}',
    tag: 'rooms',
    security: 'bearer',
    success: 'RoomView',
    codes: [...CLIENT, 403, 404, 413, ...DATABASE],
  },
  {
    method: 'delete',
    path: '/client/live/room/{live_id}',
    tag: 'rooms',
    security: 'bearer',
    success: 'RoomView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
  },
  {
    method: 'get',
    path: '/client/live/room/heartbeat/{live_id}',
    tag: 'rooms',
    security: 'bearer',
    success: 'HeartbeatView',
    codes: [...CLIENT, 403, 404, 601, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/start',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayTokenView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
    body: 'StartRelayDto',
  },
  {
    method: 'get',
    path: '/client/relay',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayListView',
    codes: [...CLIENT, ...DATABASE],
  },
  {
    method: 'get',
    path: '/client/relay/{relay_id}',
    tag: 'relay',
    security: 'bearer',
    success: 'RelaySessionView',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  {
    method: 'get',
    path: '/client/relay/{relay_id}/events',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayEventListView',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/{relay_id}/battles',
    tag: 'battle',
    security: 'bearer',
    success: 'BattleView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
    body: 'StartBattleDto',
    optionalFields: true,
  },
  {
    method: 'get',
    path: '/client/relay/{relay_id}/battles',
    tag: 'battle',
    security: 'bearer',
    success: 'BattleListView',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  {
    method: 'get',
    path: '/client/relay/{relay_id}/battles/{battle_no}',
    tag: 'battle',
    security: 'bearer',
    success: 'BattleView',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  ...(['accept', 'reject', 'stop'] as const).map((action): RouteDoc => ({
    method: 'post',
    path: `/client/relay/{relay_id}/battles/{battle_no}/${action}`,
    tag: 'battle',
    security: 'bearer',
    success: 'BattleView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
  })),
  {
    method: 'get',
    path: '/client/relay/{relay_id}/contributions',
    tag: 'battle',
    security: 'bearer',
    success: 'ContributionListView',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/match',
    tag: 'match',
    security: 'bearer',
    success: 'MatchView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
    body: 'MatchDto',
  },
  {
    method: 'get',
    path: '/client/relay/match',
    tag: 'match',
    security: 'bearer',
    success: 'PoolView',
    codes: [...CLIENT, ...DATABASE],
  },
  {
    method: 'get',
    path: '/client/relay/match/{match_id}',
    tag: 'match',
    security: 'bearer',
    success: 'MatchTicketView',
    codes: [...CLIENT, 403, 404, ...DATABASE],
  },
  {
    method: 'delete',
    path: '/client/relay/match/{match_id}',
    tag: 'match',
    security: 'bearer',
    success: 'MatchTicketView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
  },
  {
    method: 'post',
    path: '/server/relay/start',
    tag: 'server',
    security: 'qiniu',
    success: 'RelayStatusView',
    codes: [...SERVER, 404, 413, 601, ...DATABASE],
    body: 'ServerStartRelayDto',
  },
  {
    method: 'get',
    path: '/server/relay',
    tag: 'server',
    security: 'qiniu',
    success: 'RelayListView',
    codes: [...SERVER, ...DATABASE],
  },
  {
    method: 'post',
    path: '/server/relay/{relay_id}/battles',
    tag: 'server',
    security: 'qiniu',
    success: 'BattleView',
    codes: [...SERVER, 404, 413, 601, ...DATABASE],
    body: 'ServerStartBattleDto',
    optionalFields: true,
  },
  {
    method: 'post',
    path: '/server/relay/{relay_id}/battles/{battle_no}/stop',
    tag: 'server',
    security: 'qiniu',
    success: 'BattleView',
    codes: [...SERVER, 404, 413, ...DATABASE],
  },
  {
    method: 'get',
    path: '/client/relay/{relay_id}/token',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayTokenView',
    codes: [...CLIENT, 403, 404, 601, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/{relay_id}/accept',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayTokenView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/{relay_id}/reject',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayStatusView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/{relay_id}/started',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayStatusView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/{relay_id}/stop',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayStatusView',
    codes: [...CLIENT, 403, 404, 413, ...DATABASE],
  },
  {
    method: 'post',
    path: '/client/relay/{relay_id}/extends',
    tag: 'relay',
    security: 'bearer',
    success: 'RelayExtendsView',
    codes: [...CLIENT, 403, 404, 413, 601, ...DATABASE],
    body: 'UpdateExtendsDto',
  },
  {
    method: 'get',
    path: '/client/relay/events',
    tag: 'relay',
    security: 'bearer',
    success: 'text/event-stream',
    codes: [...CLIENT, 404, ...DATABASE],
  },
  {
    method: 'get',
    path: '/server/auth/token',
    tag: 'server',
    security: 'qiniu',
    success: 'IssuedTokenView',
    codes: SERVER,
  },
  {
    method: 'get',
    path: '/server/relay/{relay_id}',
    tag: 'server',
    security: 'qiniu',
    success: 'RelaySessionView',
    codes: [...SERVER, 404, ...DATABASE],
  },
  {
    method: 'post',
    path: '/server/relay/{relay_id}/stop',
    tag: 'server',
    security: 'qiniu',
    success: 'RelayStatusView',
    codes: [...SERVER, 404, 413, ...DATABASE],
  },
  {
    method: 'post',
    path: '/server/relay/{relay_id}/score',
    tag: 'server',
    security: 'qiniu',
    success: 'ScoreView',
    codes: [...SERVER, 404, 413, 601, ...DATABASE],
    body: 'ScoreDto',
  },
  {
    method: 'get',
    path: '/server/events',
    tag: 'server',
    security: 'qiniu',
    success: 'DeliveryListView',
    codes: [...SERVER, ...DATABASE],
  },
  {
    method: 'post',
    path: '/server/events/{delivery_id}/redeliver',
    tag: 'server',
    security: 'qiniu',
    success: 'DeliveryView',
    codes: [...SERVER, 404, 413, 601, ...DATABASE],
  },
  {
    method: 'get',
    path: '/healthz',
    tag: 'operations',
    security: null,
    success: 'HealthView',
    codes: [],
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'operations',
    security: null,
    success: 'HealthView',
    codes: [503],
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'operations',
    security: null,
    success: 'text/plain',
    codes: [],
  },
  {
    method: 'get',
    path: '/docs',
    tag: 'operations',
    security: null,
    success: 'text/html',
    codes: [],
  },
  {
    method: 'get',
    path: '/docs-json',
    tag: 'operations',
    security: null,
    success: 'application/json',
    codes: [],
  },
];

/** A concrete URL for a path template. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, '1');

describe('OpenAPI document (docs/operations.md)', () => {
  let t: TestApp;
  let doc: any;
  let validator: OpenApiValidator;

  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.call('GET', '/docs-json')).body;
    validator = await openApiValidator(t.baseUrl);
  });
  afterAll(async () => {
    await t.close();
  });

  const ref = (name: string) => `#/components/schemas/${name}`;
  const component = (name: string) => doc.components.schemas[name];

  it('lists exactly the routes the service answers', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('declares its tags, a Bearer scheme and the Qiniu scheme with the signing string', () => {
    expect(doc.tags.map((tag: { name: string }) => tag.name).sort()).toEqual(
      ['battle', 'match', 'operations', 'relay', 'rooms', 'server'].sort(),
    );
    for (const tag of doc.tags) expect(tag.description).toEqual(expect.any(String));
    const { bearer, qiniu } = doc.components.securitySchemes;
    expect(bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(bearer.description).toMatch(/access_token/);
    expect(qiniu).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    for (const part of [
      'Qiniu <AccessKey>:<sign>',
      'HMAC-SHA1',
      'URL-safe base64',
      '<METHOD> <path>[?<raw query>]',
      'Host:',
      'Content-Type',
      'X-Qiniu-',
      'application/octet-stream',
    ]) {
      expect(qiniu.description).toContain(part);
    }
  });

  describe.each(ROUTES)('$method $path', (route) => {
    const operation = () => doc.paths[route.path][route.method];

    it('has its tag, security scheme, summary and description', () => {
      expect(operation().tags).toEqual([route.tag]);
      expect(operation().summary).toEqual(expect.any(String));
      expect(operation().description).toEqual(expect.any(String));
      expect(operation().description.length).toBeGreaterThan(operation().summary.length);
      if (route.security === null) expect(operation().security).toBeUndefined();
      else expect(operation().security).toEqual([{ [route.security]: [] }]);
    });

    it('documents its success answer', () => {
      const ok = operation().responses['200'];
      if (route.success.includes('/')) {
        expect(Object.keys(ok.content)).toEqual([route.success]);
        return;
      }
      expect(Object.keys(ok.content)).toEqual(['application/json']);
      const schema = ok.content['application/json'].schema;
      expect(schema).toMatchObject({
        type: 'object',
        required: ['request_id', 'code', 'message', 'data'],
        additionalProperties: false,
        properties: {
          request_id: { type: 'string' },
          code: { enum: [0] },
          message: { enum: ['success'] },
          data: { $ref: ref(route.success) },
        },
      });
      expect(component(route.success)).toBeDefined();
    });

    it('documents each error code it can answer, with an example of each', () => {
      const responses = operation().responses;
      const statuses = [...new Set(codesOf(route).map(statusOf))].map(String).sort();
      expect(Object.keys(responses).sort()).toEqual(['200', ...statuses].sort());
      for (const status of statuses) {
        const codes = codesOf(route).filter((code) => String(statusOf(code)) === status);
        const media = responses[status].content['application/json'];
        expect(media.schema.properties.code.enum).toEqual(codes);
        expect(media.schema.additionalProperties).toBe(false);
        expect(Object.keys(media.examples)).toEqual(codes.map((code) => `code_${code}`));
        for (const code of codes) {
          const example = media.examples[`code_${code}`].value;
          expect(example.code).toBe(code);
          // The example itself must pass the check every real answer goes through.
          validator.check(
            route.method,
            concrete(route.path),
            Number(status),
            'application/json',
            example,
          );
        }
        expect(responses[status].description).toMatch(new RegExp(`code ${codes[0]}`));
        const required = Object.entries(responses[status].headers)
          .filter(([, header]) => (header as { required: boolean }).required)
          .map(([name]) => name);
        expect(required).toEqual(['X-Request-Id', ...(ERROR_HEADERS[status] ?? [])]);
      }
    });

    it('documents its request body, if it takes one', () => {
      const requestBody = operation().requestBody;
      if (route.body === undefined) {
        expect(requestBody).toBeUndefined();
        return;
      }
      expect(requestBody.content['application/json'].schema).toEqual({ $ref: ref(route.body) });
      const required: string[] = component(route.body).required ?? [];
      if (route.optionalFields) expect(required).toEqual([]);
      else expect(required.length).toBeGreaterThan(0);
    });
  });

  it('tells how to authorize the server API in Swagger UI, where the page signs', () => {
    expect(doc.components.securitySchemes.qiniu.description).toContain(
      '**In this Swagger UI, type `<AccessKey>:<SecretKey>` as the value.**',
    );
    expect(doc.info.description).toContain('`<AccessKey>:<SecretKey>`');
  });

  it("names the timers a newcomer meets first where the page begins, with this service's values", () => {
    expect(doc.info.description).toContain(
      `A live room is stopped ${t.config.roomHeartbeatTimeoutS} s after its last \`GET /client/live/room/heartbeat/{live_id}\``,
    );
    expect(doc.info.description).toContain('RELAY_INVITE_TIMEOUT_S');
  });

  it('pre-fills no Idempotency-Key: a fixed one would replay the first start page after page', () => {
    const keys = Object.values(doc.paths as Record<string, Record<string, any>>)
      .flatMap((operations) => Object.values(operations))
      .flatMap((operation) => (operation.parameters ?? []) as any[])
      .filter((parameter) => parameter.name === 'Idempotency-Key');
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatchObject({ in: 'header', required: false });
      expect(key.description).toMatch(/for a retry after fixing what made the first one fail/);
      for (const field of ['example', 'examples']) {
        expect(key[field]).toBeUndefined();
        expect(key.schema[field]).toBeUndefined();
      }
      expect(key.schema.default).toBeUndefined();
    }
  });

  it('says to read the event stream with EventSource, with an example', () => {
    const stream = doc.paths['/client/relay/events'].get;
    expect(stream.summary).toContain('EventSource');
    expect(stream.description).toMatch(
      /```js\nconst stream = new EventSource\('\/client\/relay\/events\?access_token=' \+ token\);\n/,
    );
    expect(stream.description).toMatch(/Execute reads the stream for \d+ seconds/);
  });

  it('names the server as the reader reached it (behind a gateway: test/e2e/gateway-*)', () => {
    expect(doc.servers).toEqual([{ url: t.baseUrl, description: expect.any(String) }]);
  });

  it('names the redeliver parameter as the delivery id, not the event id', () => {
    const redeliver = doc.paths['/server/events/{delivery_id}/redeliver'].post;
    expect(redeliver.parameters).toEqual([
      expect.objectContaining({ name: 'delivery_id', in: 'path', required: true }),
    ]);
    expect(redeliver.parameters[0].schema).toMatchObject({ type: 'integer', minimum: 1 });
    expect(redeliver.parameters[0].description).toMatch(/`id` of an entry .* not its `event_id`/);
    expect(component('DeliveryView').properties.event_id.description).toMatch(/not a delivery id/);
  });

  it('documents the path identifiers with the pattern the routes enforce', () => {
    const param = doc.paths['/client/relay/{relay_id}'].get.parameters.find(
      (p: { name: string }) => p.name === 'relay_id',
    );
    expect(param).toMatchObject({ in: 'path', required: true });
    expect(param.schema.pattern).toBe('^[A-Za-z0-9_.:-]{1,64}$');
  });

  it('documents the identifiers of a start body with the pattern the server enforces', async () => {
    const start = component('StartRelayDto');
    for (const field of ['init_room_id', 'recv_room_id', 'recv_user_id']) {
      expect(start.properties[field].pattern).toBe('^[A-Za-z0-9_.:-]{1,64}$');
    }
    const token = tokenFor(t, uniqueUser());
    const answer = await t.call('POST', '/client/relay/start', {
      token,
      body: { init_room_id: 'room a', recv_room_id: 'room_b', recv_user_id: 'bob' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^init_room_id must be 1-64 characters/);
  });

  it('describes the session as the service sends it: nullable times, a string map, integers', () => {
    const session = component('RelaySessionView');
    for (const field of ['start_at', 'stop_at', 'created_at', 'updated_at', 'duration_s']) {
      expect(session.properties[field].nullable).toBe(true);
    }
    expect(session.properties.extends).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
    expect(session.properties.status.type).toBe('integer');
    expect(session.required).toEqual(Object.keys(session.properties));
    const event = component('EventView');
    expect(event.properties.data.oneOf).toEqual([
      { $ref: ref('StatusChangedData') },
      { $ref: ref('RoomChangedData') },
      { $ref: ref('ExtendsUpdatedData') },
      { $ref: ref('ScoreChangedData') },
      { $ref: ref('BattleChangedData') },
    ]);
    expect(component('StatusChangedData').properties.from.nullable).toBe(true);
  });

  describe('the validator', () => {
    const session = {
      sid: 'relay_1',
      relay_id: 'relay_1',
      app_id: 'default',
      init_user_id: 'alice',
      init_room_id: 'room_a',
      recv_room_id: 'room_b',
      recv_user_id: 'bob',
      rooms: [
        { room_id: 'room_a', user_id: 'alice', role: 'init', state: 'agreed', reason: '' },
        { room_id: 'room_b', user_id: 'bob', role: 'recv', state: 'agreed', reason: '' },
      ],
      status: 1,
      stop_reason: '',
      start_at: '2026-11-25 15:00:00',
      stop_at: null,
      created_at: '2026-11-25 14:59:58',
      updated_at: '2026-11-25 15:00:00',
      duration_s: null,
      extends: {},
      scores: { room_a: 0, room_b: 0 },
      winner_room_id: '',
      battle: null,
      origin: 'invite',
    };
    const envelope = (data: unknown) => ({
      request_id: 'req-1',
      code: 0,
      message: 'success',
      data,
    });
    const checkSession = (body: unknown, status = 200) =>
      validator.check('GET', '/client/relay/relay_1', status, 'application/json', body);

    it('passes a right answer, nulls included where the docs allow them', () => {
      expect(() => checkSession(envelope(session))).not.toThrow();
      expect(() =>
        checkSession(envelope({ ...session, status: 4, duration_s: 60, extends: { a: 'b' } })),
      ).not.toThrow();
    });

    it.each([
      ['a number sent as a string', { ...session, status: '1' }, /\/data\/status must be integer/],
      ['a value outside the enum', { ...session, status: 9 }, /\/data\/status must be equal/],
      ['null where the docs do not allow it', { ...session, sid: null }, /\/data\/sid must be/],
      ['a wrong non-null time', { ...session, start_at: 5 }, /\/data\/start_at must be/],
      [
        'a missing field',
        { ...session, extends: undefined },
        /must have required property 'extends'/,
      ],
      [
        'an undocumented field',
        { ...session, secret: 'x' },
        /must NOT have additional properties \(secret\)/,
      ],
      [
        'extends that is not a string map',
        { ...session, extends: { a: 1 } },
        /\/data\/extends\/a must be string/,
      ],
      [
        'a room state that does not exist',
        { ...session, rooms: [session.rooms[0], { ...session.rooms[1], state: 'gone' }] },
        /\/data\/rooms\/1\/state must be equal to one of the allowed values/,
      ],
    ])('fails on %s', (_, data, message) => {
      expect(() => checkSession(envelope(data))).toThrow(OpenApiMismatch);
      expect(() => checkSession(envelope(data))).toThrow(message);
      expect(() => checkSession(envelope(data))).toThrow(/GET \/client\/relay\/\{relay_id\}/);
    });

    it('reads OpenAPI 3.0 nullable as JSON Schema, with or without a type', () => {
      expect(toJsonSchema({ type: 'integer', nullable: true, enum: [1, 2] })).toEqual({
        type: ['integer', 'null'],
        enum: [1, 2, null],
      });
      expect(toJsonSchema({ nullable: true, allOf: [{ $ref: '#/components/schemas/X' }] })).toEqual(
        {
          anyOf: [
            { allOf: [{ $ref: 'openapi-components.json#/definitions/X' }] },
            { type: 'null' },
          ],
        },
      );
    });

    it('fails on an envelope without data, or with a code other than 0', () => {
      expect(() => checkSession({ request_id: 'r', code: 0, message: 'success' })).toThrow(
        /required property 'data'/,
      );
      expect(() => checkSession({ ...envelope(session), code: 1 })).toThrow(/\/code must be equal/);
    });

    it('fails on an error envelope with an undocumented code, or with data', () => {
      const error = { request_id: 'r', code: 404, message: 'relay relay_1 not found' };
      expect(() => checkSession(error, 404)).not.toThrow();
      expect(() => checkSession({ ...error, code: 403 }, 404)).toThrow(/\/code must be equal/);
      expect(() => checkSession({ ...error, data: {} }, 404)).toThrow(/additional properties/);
      // 601 is not an answer of a read.
      expect(() => checkSession({ ...error, code: 601 }, 409)).toThrow(/do not list/);
    });

    it('fails on an undocumented status, route or method', () => {
      expect(() =>
        validator.check('GET', '/healthz', 418, 'application/json', { code: 418 }),
      ).toThrow(/answered 418, which the docs do not list/);
      expect(() => validator.check('GET', '/nothing-here', 404, null, undefined)).toThrow(
        /no such operation/,
      );
      expect(() => validator.check('PATCH', '/client/relay/relay_1', 404, null, undefined)).toThrow(
        /no such operation/,
      );
    });

    it('takes a 405 to a method a path does not have from that path, and nothing else', () => {
      const refused = { request_id: 'r', code: 405, message: 'method PATCH is not allowed' };
      expect(() =>
        validator.check('PATCH', '/client/relay/relay_1', 405, 'application/json', refused),
      ).not.toThrow();
      expect(() =>
        validator.check('PATCH', '/client/relay/relay_1', 405, 'application/json', {
          ...refused,
          code: 400,
        }),
      ).toThrow(/\/code must be equal/);
      expect(() =>
        validator.check('PATCH', '/client/relay/relay_1', 200, 'application/json', refused),
      ).toThrow(/no such operation/);
      expect(validator.methodsOf('/client/relay/start')).toEqual({
        template: '/client/relay/start',
        methods: ['POST'],
      });
    });

    it("checks HEAD as the path's GET, and fails on a body", () => {
      expect(() =>
        validator.check('HEAD', '/healthz', 200, 'application/json', undefined),
      ).not.toThrow();
      expect(() => validator.check('HEAD', '/healthz', 418, 'application/json', undefined)).toThrow(
        /do not list/,
      );
      expect(() =>
        validator.check('HEAD', '/healthz', 200, 'application/json', { status: 'ok' }),
      ).toThrow(/with a body to HEAD/);
    });

    it('fails on an answer without a header the docs require', () => {
      const ok = { request_id: 'r', code: 0, message: 'success', data: { status: 'ok' } };
      expect(() =>
        validator.check('GET', '/healthz', 200, 'application/json', ok, new Headers()),
      ).toThrow(/without the documented header X-Request-Id/);
      const refused = { request_id: 'r', code: 405, message: 'not allowed' };
      expect(() =>
        validator.check(
          'POST',
          '/healthz',
          405,
          'application/json',
          refused,
          new Headers({ 'X-Request-Id': 'r' }),
        ),
      ).toThrow(/without the documented header Allow/);
    });

    it('fails on a content type the docs do not list, and skips text it cannot parse', () => {
      expect(() =>
        validator.check('GET', '/metrics', 200, 'application/json', { metrics: [] }),
      ).toThrow(/but the docs list text\/plain/);
      expect(() =>
        validator.check('GET', '/metrics', 200, 'text/plain; version=0.0.4', '# TYPE x counter'),
      ).not.toThrow();
      expect(() =>
        validator.check('GET', '/client/relay/events', 200, 'text/event-stream', 'retry: 2000'),
      ).not.toThrow();
    });

    it('prefers a literal path over a template, as the router does', () => {
      expect(validator.findOperation('GET', '/client/relay/events?room_id=x')?.template).toBe(
        '/client/relay/events',
      );
      expect(validator.findOperation('POST', '/client/relay/start')?.template).toBe(
        '/client/relay/start',
      );
      expect(validator.findOperation('GET', '/client/relay/start')?.template).toBe(
        '/client/relay/{relay_id}',
      );
    });

    it('passes the event of the stream example as an EventView', () => {
      const example: string =
        doc.paths['/client/relay/events'].get.responses['200'].content['text/event-stream'].example;
      const data = /^data: (.+)$/m.exec(example)?.[1];
      expect(data).toBeDefined();
      expect(() => validator.checkSchema('EventView', JSON.parse(data as string))).not.toThrow();
    });

    it('checks events against EventView, data as a status, extends or score change', async () => {
      const r = await relay(t);
      await t.call('POST', `/client/relay/${r.relayId}/extends`, {
        token: r.init.token,
        body: { extends: { score: '1' } },
      });
      const path = `/server/relay/${r.relayId}/score`;
      const body = JSON.stringify({ room_id: r.init.liveId, delta: 3, score_id: 'gift_1' });
      const { serverAccessKey, serverSecretKey } = t.config;
      const authorization = qiniuSignV2(
        serverAccessKey,
        serverSecretKey,
        t.baseUrl + path,
        'POST',
        'application/json',
        body,
      );
      expect((await t.call('POST', path, { body, headers: { authorization } })).status).toBe(200);
      const rows: { id: number; type: string; data: string }[] = await t.dataSource.query(
        'SELECT id, type, data FROM relay_event WHERE relay_id = ? ORDER BY id',
        [r.relayId],
      );
      expect(rows.map((row) => row.type)).toEqual([
        'relay.status_changed',
        'relay.extends_updated',
        'relay.score_changed',
      ]);
      for (const row of rows) {
        const event = {
          id: Number(row.id),
          type: row.type,
          relay_id: r.relayId,
          app_id: 'default',
          seq: 1,
          occurred_at: new Date().toISOString(),
          data: JSON.parse(row.data),
        };
        expect(() => validator.checkSchema('EventView', event)).not.toThrow();
        expect(() => validator.checkSchema('EventView', { ...event, data: 'text' })).toThrow(
          /\/data must be object/,
        );
      }
    });

    it('runs on every answer of t.call, so an undocumented answer fails the call', async () => {
      await expect(t.call('GET', '/nothing-here')).rejects.toThrow(OpenApiMismatch);
      const token = tokenFor(t, uniqueUser());
      const answer = await t.call('GET', '/client/relay', { token });
      expect(answer.status).toBe(200);
    });
  });
});
