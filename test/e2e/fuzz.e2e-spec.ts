/**
 * Spec-driven fuzzing: for every operation of /docs-json, a bounded set of bad requests made
 * from its own parameters and body schema (wrong types, missing and extra fields, deep nesting,
 * huge and control-character strings, bad path ids and query values, wrong methods, HEAD), each
 * sent without and with valid credentials, plus bad framing over a raw socket. Every answer must
 * be no 5xx, the envelope with its X-Request-Id, and what the document says. The cases come from
 * a fixed seed, so a run is repeatable; the figures go to test-output/fuzz-summary.json.
 */
import { writeFigures } from '../utils/test-output';
import { gzipSync } from 'node:zlib';
import { anchor, relay, tokenFor, uniqueUser } from '../factories';
import { OpenApiValidator, openApiValidator } from '../utils/openapi-validator';
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { message, NoAnswer, RawAnswer, rawRequest } from '../utils/raw-http';
import { startTestApp, TestApp } from '../utils/test-app';

type Json = Record<string, any>;

const SEED = 0x5eed_2026;
const CONCURRENCY = 8;
const DEEP = 2000;
/** Past the 64 KiB body limit. */
const HUGE = 70 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters the contract refuses in text, and others that break naive code. */
const NASTY = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\u0008',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u202e',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\uffff',
  '"',
  '\\',
  '%',
  "'",
  '<',
  '/',
  '😀',
];

/**
 * Percent-encodes any string, a lone surrogate included (as the three bytes UTF-8 would give it,
 * which are invalid UTF-8), where encodeURIComponent throws.
 */
function encodeAny(value: string): string {
  return Array.from(value, (char) => {
    const unit = char.charCodeAt(0);
    if (char.length > 1 || unit < 0xd800 || unit > 0xdfff) return encodeURIComponent(char);
    return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
      .map((byte) => `%${byte.toString(16).toUpperCase()}`)
      .join('');
  }).join('');
}

const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

type Auth = 'none' | 'valid';

interface FuzzCase {
  /** What kind of input this is, for the summary. */
  family: string;
  label: string;
  method: string;
  /** Path and query as sent. */
  target: string;
  auth: Auth;
  headers: [string, string][];
  body?: string | Buffer;
  /** A whole message, sent as it is (framing cases). */
  raw?: Buffer;
  endAfterWrite?: boolean;
  /** The status the contract gives this request, where the case has exactly one. */
  refusedWith?: number;
}

interface Outcome {
  fuzz: FuzzCase;
  answer?: RawAnswer;
  /** Each problem with its kind: no-answer, 5xx, envelope, document, allow, refusal. */
  problems: { kind: string; text: string }[];
}

interface Operation {
  method: string;
  template: string;
  operation: Json;
  security: 'bearer' | 'qiniu' | null;
}

interface Fixtures {
  host: string;
  clientToken: string;
  values: Record<string, string>;
  /** A body the operation accepts, per template, as the base that each mutation changes. */
  bodies: Record<string, Json>;
}

function operationsOf(document: Json): Operation[] {
  return Object.entries(document.paths as Json).flatMap(([template, item]) =>
    Object.entries(item as Json).map(([method, operation]) => {
      const scheme = (operation as Json).security?.[0];
      const security = scheme === undefined ? null : (Object.keys(scheme)[0] as 'bearer' | 'qiniu');
      return { method: method.toUpperCase(), template, operation: operation as Json, security };
    }),
  );
}

const bodySchema = (document: Json, op: Operation): Json | undefined => {
  const ref: string | undefined =
    op.operation.requestBody?.content?.['application/json']?.schema?.$ref;
  return ref === undefined
    ? undefined
    : document.components.schemas[ref.split('/').pop() as string];
};

/** Values of the wrong type for a schema, and of the right type but out of bounds. */
function wrongValues(schema: Json, random: () => number): unknown[] {
  const nasty = Array.from({ length: 3 }, () =>
    Array.from(
      { length: 1 + Math.floor(random() * 6) },
      () => NASTY[Math.floor(random() * NASTY.length)],
    ).join('x'),
  );
  const wrongTypes = [12345, -1, 1.5, 1e308, true, null, [], ['a'], {}, { a: 'b' }, 'text', ''];
  const special: unknown[] = [];
  if (schema.type === 'integer')
    special.push('10', (schema.minimum ?? 0) - 1, (schema.maximum ?? 1e9) + 1);
  if (schema.type === 'object') {
    special.push(
      { k: 1 },
      { k: null },
      { '': 'v' },
      { '\u0000': 'v' },
      { k: 'a\u0000b' },
      { k: '\ud800' },
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'])),
      { k: 'v'.repeat(2000) },
    );
  }
  if (schema.enum !== undefined)
    special.push(`${String(schema.enum[0])}x`, String(schema.enum[0]).toUpperCase());
  const controls = ['a\u0000b', 'a\u001fb', 'a\u007fb', '\ud800'];
  return [
    ...wrongTypes,
    ...special,
    ...controls,
    ...nasty,
    'x'.repeat(65),
    'y'.repeat(5000),
    'a b',
  ];
}

function queryValue(name: string, schema: Json, fixtures: Fixtures): string {
  if (fixtures.values[name] !== undefined) return fixtures.values[name];
  if (schema.enum !== undefined) return String(schema.enum[0]);
  if (schema.type === 'integer') return String(schema.minimum ?? 1);
  return 'fuzz';
}

/** Path with every parameter valid, but `override` (raw, already encoded) for one of them. */
function fillPath(op: Operation, fixtures: Fixtures, override?: [string, string]): string {
  return op.template.replace(/\{([^}]+)\}/g, (_, name: string) =>
    override?.[0] === name ? override[1] : encodeURIComponent(fixtures.values[name] ?? '1'),
  );
}

/** The cases of one operation, each in both auth variants. */
function casesOf(
  document: Json,
  op: Operation,
  fixtures: Fixtures,
  random: () => number,
): FuzzCase[] {
  const cases: Omit<FuzzCase, 'auth'>[] = [];
  const route = `${op.method} ${op.template}`;
  const params: Json[] = op.operation.parameters ?? [];
  const query = params.filter((p) => p.in === 'query');
  const baseQuery = query
    .filter((p) => p.required === true)
    .map((p) => `${p.name}=${encodeURIComponent(queryValue(p.name, p.schema, fixtures))}`);
  const withQuery = (path: string, parts: string[]) =>
    parts.length === 0 ? path : `${path}?${parts.join('&')}`;
  const schema = bodySchema(document, op);
  const baseBody = fixtures.bodies[op.template];
  const validBody = baseBody === undefined ? undefined : JSON.stringify(baseBody);
  const add = (
    family: string,
    label: string,
    target: string,
    body?: string | Buffer,
    headers: [string, string][] = [],
  ) => {
    const typed: [string, string][] =
      body !== undefined && !headers.some(([n]) => n.toLowerCase() === 'content-type')
        ? [['Content-Type', 'application/json'], ...headers]
        : headers;
    cases.push({
      family,
      label: `${route}: ${label}`,
      method: op.method,
      target,
      body,
      headers: typed,
    });
  };
  const path = fillPath(op, fixtures);

  for (const param of params.filter((p) => p.in === 'path')) {
    const bad =
      param.schema.type === 'integer'
        ? ['abc', '-1', '0', '1.5', '1e3', '0x10', '99999999999999999999', '%201', '%00']
        : [
            encodeURIComponent('x'.repeat(65)),
            'a%20b',
            '%00',
            '%1B%5B2J',
            '%E2%80%AE',
            '%C3%A9',
            'a%2Fb',
            '%3Cscript%3E',
            "a'b",
          ];
    for (const value of [...bad, '%', '%zz', '%C0%AF', '%FF']) {
      add(
        'path-id',
        `${param.name}=${value}`,
        withQuery(fillPath(op, fixtures, [param.name, value]), baseQuery),
        validBody,
      );
    }
  }

  for (const param of query) {
    const others = baseQuery.filter((part) => !part.startsWith(`${param.name}=`));
    const values = wrongValues(param.schema, random)
      .filter((v) => typeof v === 'string' || typeof v === 'number')
      .map((v) => encodeAny(String(v)));
    for (const value of [
      ...values,
      '%',
      '%zz',
      '%C0%AF',
      '%FF',
      encodeURIComponent('z'.repeat(10_000)),
    ]) {
      add(
        'query',
        `${param.name}=${value.slice(0, 40)}`,
        withQuery(path, [...others, `${param.name}=${value}`]),
      );
    }
    const valid = encodeURIComponent(queryValue(param.name, param.schema, fixtures));
    add(
      'query-repeated',
      `${param.name} twice`,
      withQuery(path, [...others, `${param.name}=${valid}`, `${param.name}=${valid}`]),
    );
    add(
      'query-repeated',
      `${param.name} twice, different`,
      withQuery(path, [...others, `${param.name}=${valid}`, `${param.name}=zz`]),
    );
    add('query', `${param.name}[]`, withQuery(path, [...others, `${param.name}[]=${valid}`]));
    add('query', `${param.name}[a]`, withQuery(path, [...others, `${param.name}[a]=${valid}`]));
    if (param.required === true) add('query-missing', `no ${param.name}`, withQuery(path, others));
  }
  add('query-extra', 'an unknown query parameter', withQuery(path, [...baseQuery, 'zz_unknown=1']));

  const takesBody = ['POST', 'PUT', 'DELETE', 'PATCH'].includes(op.method);
  const target = withQuery(path, baseQuery);
  if (takesBody) {
    for (const [label, text] of [
      ['not JSON', '{'],
      ['a trailing comma', '{"a":1,}'],
      ['null', 'null'],
      ['an array', '[]'],
      ['a string', '"text"'],
      ['a number', '1'],
      ['true', 'true'],
      [`${DEEP} nested objects`, deepObject(DEEP)],
      [`${DEEP} nested arrays`, deepArray(DEEP)],
      ['a body past 64 KiB', JSON.stringify({ pad: 'p'.repeat(HUGE) })],
      ['an unexpected field', '{"zz_unexpected":1}'],
    ] as const) {
      add('body-shape', label, target, text);
    }
    const body = validBody ?? '{}';
    add('content-type', 'text/plain', target, body, [['Content-Type', 'text/plain']]);
    add('content-type', 'form encoded', target, 'a=1', [
      ['Content-Type', 'application/x-www-form-urlencoded'],
    ]);
    add('content-type', 'JSON as utf-16', target, body, [
      ['Content-Type', 'application/json; charset=utf-16'],
    ]);
    add('content-encoding', 'gzip', target, gzipSync(body), [['Content-Encoding', 'gzip']]);
    add('content-encoding', 'br on a plain body', target, body, [['Content-Encoding', 'br']]);
  }
  if (schema !== undefined && baseBody !== undefined) {
    for (const field of schema.required ?? []) {
      const rest = Object.fromEntries(Object.entries(baseBody).filter(([name]) => name !== field));
      add('body-missing', `no ${field}`, target, JSON.stringify(rest));
    }
    add('body-extra', 'an extra field', target, JSON.stringify({ ...baseBody, zz_extra: 'x' }));
    for (const [field, property] of Object.entries(schema.properties as Json)) {
      for (const value of wrongValues(property, random)) {
        add(
          'body-field',
          `${field}=${JSON.stringify(value).slice(0, 40)}`,
          target,
          JSON.stringify({ ...baseBody, [field]: value }),
        );
      }
      add(
        'body-huge',
        `${field} past 64 KiB`,
        target,
        JSON.stringify({ ...baseBody, [field]: 'h'.repeat(HUGE) }),
      );
      const nested = JSON.stringify({ ...baseBody, [field]: 0 }).replace(
        `"${field}":0`,
        `"${field}":${deepObject(DEEP)}`,
      );
      add('body-deep', `${field} ${DEEP} levels deep`, target, nested);
    }
  }
  return cases.flatMap((c) => [
    { ...c, auth: 'none' as const },
    { ...c, auth: 'valid' as const },
  ]);
}

/**
 * Methods a known path does not have (and no other template that matches it: PUT
 * /client/live/room/instance is PUT /client/live/room/{live_id}), and HEAD on those that have GET.
 */
function methodCases(
  ops: Operation[],
  fixtures: Fixtures,
  validator: OpenApiValidator,
): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const template of [...new Set(ops.map((op) => op.template))]) {
    const onPath = ops.filter((op) => op.template === template);
    const target = fillPath(onPath[0], fixtures);
    for (const method of METHODS.filter((m) => validator.findOperation(m, target) === null)) {
      for (const auth of ['none', 'valid'] as const) {
        cases.push({
          family: 'method',
          label: `${method} ${template}`,
          method,
          target,
          auth,
          headers: [],
        });
      }
    }
    const get = onPath.find((op) => op.method === 'GET');
    if (get === undefined) continue;
    const required = (get.operation.parameters ?? []).filter(
      (p: Json) => p.in === 'query' && p.required === true,
    );
    const full =
      required.length === 0
        ? target
        : `${target}?${required.map((p: Json) => `${p.name}=${queryValue(p.name, p.schema, fixtures)}`).join('&')}`;
    for (const auth of ['none', 'valid'] as const) {
      cases.push({
        family: 'head',
        label: `HEAD ${template}`,
        method: 'HEAD',
        target: full,
        auth,
        headers: [],
      });
      cases.push({
        family: 'head',
        label: `GET ${template} (to compare)`,
        method: 'GET',
        target: full,
        auth,
        headers: [],
      });
    }
  }
  return cases;
}

/** Credentials that are wrong in the ways clients get them wrong. */
function badAuthCases(ops: Operation[], fixtures: Fixtures, t: TestApp): FuzzCase[] {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ UserId: 'mallory', exp })}.`;
  const expired = tokenFor(t, 'fuzz_expired', { expiresAt: Math.floor(Date.now() / 1000) - 10 });
  const client: [string, string][] = [
    ['garbage', 'Bearer garbage'],
    ['alg none', `Bearer ${none}`],
    ['expired', `Bearer ${expired}`],
    ['control characters', 'Bearer a\tb'],
    ['a Qiniu signature', `Qiniu ${t.config.serverAccessKey}:c2lnbg==`],
  ];
  const server: [string, string][] = [
    ['a wrong signature', `Qiniu ${t.config.serverAccessKey}:c2lnbg==`],
    ['an unknown key', 'Qiniu nobody:c2lnbg=='],
    ['no colon', 'Qiniu garbage'],
    ['a client token', `Bearer ${fixtures.clientToken}`],
  ];
  return ops
    .filter((op) => op.security !== null)
    .flatMap((op) =>
      (op.security === 'bearer' ? client : server).map(([label, authorization]) => ({
        family: 'auth',
        label: `${op.method} ${op.template}: ${label}`,
        method: op.method,
        target: fillPath(op, fixtures),
        auth: 'none' as const,
        headers: [['Authorization', authorization]] as [string, string][],
      })),
    );
}

/** Framing that Node's parser or the contract refuses, over a raw socket. */
function framingCases(fixtures: Fixtures): FuzzCase[] {
  const { host } = fixtures;
  const body = '{"title":"framed"}';
  const auth = `Authorization: Bearer ${fixtures.clientToken}`;
  const frame = (
    label: string,
    method: string,
    target: string,
    text: string,
    endAfterWrite = false,
  ): FuzzCase => ({
    family: 'framing',
    label: `${label} (${method} ${target})`,
    method,
    target,
    auth: 'valid',
    headers: [],
    raw: Buffer.from(text, 'latin1'),
    endAfterWrite,
    refusedWith: label.startsWith('headers of about') ? 431 : 400,
  });
  const cases: FuzzCase[] = [];
  for (const [method, target] of [
    ['POST', '/client/live/room/instance'],
    ['GET', '/healthz'],
  ]) {
    const head = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${auth}\r\nContent-Type: application/json\r\n`;
    cases.push(
      frame(
        'both Content-Length and Transfer-Encoding',
        method,
        target,
        `${head}Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ),
      frame(
        'a Content-Length that is not a number',
        method,
        target,
        `${head}Content-Length: abc\r\nConnection: close\r\n\r\n${body}`,
      ),
      frame(
        'a negative Content-Length',
        method,
        target,
        `${head}Content-Length: -1\r\nConnection: close\r\n\r\n${body}`,
      ),
      frame(
        'two different Content-Lengths',
        method,
        target,
        `${head}Content-Length: ${body.length}\r\nContent-Length: 3\r\nConnection: close\r\n\r\n${body}`,
      ),
      frame(
        'a body shorter than its Content-Length',
        method,
        target,
        `${head}Content-Length: 100\r\nConnection: close\r\n\r\n${body}`,
        true,
      ),
      frame(
        'a chunk size that is not hex',
        method,
        target,
        `${head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
      ),
      frame(
        'a chunk longer than announced',
        method,
        target,
        `${head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n${body}\r\n0\r\n\r\n`,
      ),
      frame(
        'headers of about 20 KB',
        method,
        target,
        `${head}X-Padding: ${'p'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
      ),
      frame(
        'no Host',
        method,
        target,
        `${method} ${target} HTTP/1.1\r\n${auth}\r\nConnection: close\r\n\r\n`,
      ),
      frame(
        'a space before a header colon',
        method,
        target,
        `${head}X-Bad : 1\r\nConnection: close\r\n\r\n`,
      ),
      frame(
        'a NUL in a header value',
        method,
        target,
        `${head}X-Bad: a\u0000b\r\nConnection: close\r\n\r\n`,
      ),
    );
  }
  return cases;
}

async function send(
  fuzz: FuzzCase,
  fixtures: Fixtures,
  port: number,
  t: TestApp,
): Promise<RawAnswer> {
  if (fuzz.raw !== undefined) {
    return rawRequest(port, fuzz.raw, { method: fuzz.method, endAfterWrite: fuzz.endAfterWrite });
  }
  const headers = [...fuzz.headers];
  if (fuzz.auth === 'valid' && fuzz.target.startsWith('/client/')) {
    headers.push(['Authorization', `Bearer ${fixtures.clientToken}`]);
  }
  if (fuzz.auth === 'valid' && fuzz.target.startsWith('/server/')) {
    const contentType = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
    const text = typeof fuzz.body === 'string' ? fuzz.body : fuzz.body?.toString('latin1');
    headers.push([
      'Authorization',
      qiniuSignV2(
        t.config.serverAccessKey,
        t.config.serverSecretKey,
        `http://${fixtures.host}${fuzz.target}`,
        fuzz.method,
        contentType,
        text,
      ),
    ]);
  }
  return rawRequest(port, message(fuzz.method, fuzz.target, fixtures.host, headers, fuzz.body), {
    method: fuzz.method,
  });
}

/** Everything that is wrong with one answer. */
function judge(
  fuzz: FuzzCase,
  answer: RawAnswer,
  validator: OpenApiValidator,
): Outcome['problems'] {
  const problems: Outcome['problems'] = [];
  const { status, headers, text } = answer;
  const contentType = headers.get('content-type');
  if (status >= 500)
    problems.push({ kind: '5xx', text: `answered ${status}: ${text.slice(0, 200)}` });
  const requestId = headers.get('x-request-id');
  if (requestId === null || !REQUEST_ID.test(requestId)) {
    problems.push({ kind: 'envelope', text: `X-Request-Id header ${JSON.stringify(requestId)}` });
  }
  let body: unknown = text.length === 0 ? undefined : text;
  if ((contentType ?? '').includes('json') && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      problems.push({ kind: 'envelope', text: `JSON that does not parse: ${text.slice(0, 200)}` });
    }
  }
  if (status >= 400 && fuzz.method !== 'HEAD') {
    const envelope = body as Json | undefined;
    const keys =
      envelope !== null && typeof envelope === 'object' ? Object.keys(envelope).sort() : [];
    if (keys.join() !== 'code,message,request_id') {
      problems.push({
        kind: 'envelope',
        text: `${status} is not the envelope (${contentType}): ${text.slice(0, 200)}`,
      });
    } else if (envelope?.request_id !== requestId) {
      problems.push({
        kind: 'envelope',
        text: `request_id ${envelope?.request_id} but X-Request-Id ${requestId}`,
      });
    }
  }
  const path = fuzz.target;
  try {
    validator.check(fuzz.method, path, status, contentType, body, headers);
  } catch (error) {
    problems.push({
      kind: 'document',
      text: (error as Error).message.split('\n').slice(0, 3).join(' '),
    });
  }
  if (fuzz.refusedWith !== undefined && status !== fuzz.refusedWith) {
    problems.push({ kind: 'refusal', text: `answered ${status}, not ${fuzz.refusedWith}` });
  }
  const known = validator.methodsOf(path);
  if (fuzz.family === 'method' && known !== null) {
    const allow = (headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase());
    if (status !== 405) problems.push({ kind: 'allow', text: `answered ${status}, not 405` });
    else if (!known.methods.every((m) => allow.includes(m)) || allow.includes(fuzz.method)) {
      problems.push({
        kind: 'allow',
        text: `Allow: ${headers.get('allow')}; documented: ${known.methods.join(', ')}`,
      });
    }
  }
  return problems;
}

async function runAll<T, R>(
  items: T[],
  limit: number,
  each: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await each(items[index]);
      }
    }),
  );
  return results;
}

describe('fuzzing every operation of /docs-json', () => {
  let t: TestApp;
  let validator: OpenApiValidator;
  let document: Json;
  let fixtures: Fixtures;
  let outcomes: Outcome[];
  const build = () => {
    const random = seeded(SEED);
    const ops = operationsOf(document);
    return [
      ...ops.flatMap((op) => casesOf(document, op, fixtures, random)),
      ...methodCases(ops, fixtures, validator),
      ...badAuthCases(ops, fixtures, t),
      ...framingCases(fixtures),
    ];
  };
  const failing = (...kinds: string[]) =>
    outcomes.flatMap((o) =>
      o.problems
        .filter((p) => kinds.includes(p.kind))
        .map((p) => `[${o.fuzz.family}] ${o.fuzz.label} (${o.fuzz.auth} auth): ${p.text}`),
    );

  beforeAll(async () => {
    t = await startTestApp();
    validator = await openApiValidator(t.baseUrl);
    document = validator.document;
    const port = Number(new URL(t.baseUrl).port);
    const owner = uniqueUser('fuzz');
    const own = await anchor(t, { userId: owner });
    const other = await anchor(t);
    const session = await relay(t);
    fixtures = {
      host: `127.0.0.1:${port}`,
      clientToken: own.token,
      values: {
        live_id: own.liveId,
        relay_id: session.relayId,
        delivery_id: '1',
        user_id: owner,
        room_id: own.liveId,
      },
      bodies: {
        '/client/live/room/instance': { title: 'fuzz room' },
        '/client/relay/start': {
          init_room_id: own.liveId,
          recv_room_id: other.liveId,
          recv_user_id: other.userId,
        },
        '/client/relay/{relay_id}/extends': { extends: { round: '1' } },
      },
    };
    const cases = build();
    const started = Date.now();
    outcomes = await runAll(cases, CONCURRENCY, async (fuzz) => {
      try {
        const answer = await send(fuzz, fixtures, port, t);
        return { fuzz, answer, problems: judge(fuzz, answer, validator) };
      } catch (error) {
        const text = error instanceof NoAnswer ? error.message : String(error);
        return { fuzz, problems: [{ kind: 'no-answer', text }] };
      }
    });
    const statuses: Record<string, number> = {};
    for (const o of outcomes) {
      const key = o.answer === undefined ? 'no answer' : String(o.answer.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    const byFamily: Record<string, Record<string, number>> = {};
    for (const o of outcomes) {
      const key = o.answer === undefined ? 'no answer' : String(o.answer.status);
      const family = (byFamily[o.fuzz.family] ??= {});
      family[key] = (family[key] ?? 0) + 1;
    }
    const problems: Record<string, number> = {};
    for (const o of outcomes)
      for (const p of o.problems) problems[p.kind] = (problems[p.kind] ?? 0) + 1;
    const summary = {
      seed: SEED,
      database: t.databaseUrl.split(':')[0],
      requests: outcomes.length,
      duration_ms: Date.now() - started,
      statuses,
      statuses_by_family: byFamily,
      '5xx': outcomes.filter((o) => (o.answer?.status ?? 0) >= 500).length,
      problems,
      failing: failing('no-answer', '5xx', 'envelope', 'document', 'allow', 'refusal'),
    };
    writeFigures('fuzz-summary.json', summary);
    process.stdout.write(
      `fuzz: ${summary.requests} requests in ${summary.duration_ms} ms on ${summary.database}, ` +
        `statuses ${JSON.stringify(statuses)}, 5xx: ${summary['5xx']}, ` +
        `problems ${JSON.stringify(problems)}\n`,
    );
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  it('sends the same bounded set of requests on every run, every operation covered', () => {
    expect(build().map((c) => `${c.auth} ${c.label}`)).toEqual(
      outcomes.map((o) => `${o.fuzz.auth} ${o.fuzz.label}`),
    );
    expect(outcomes.length).toBeGreaterThan(1000);
    expect(outcomes.length).toBeLessThan(6000);
    const covered = new Set(outcomes.map((o) => o.fuzz.label.split(':')[0]));
    for (const op of operationsOf(document))
      expect(covered).toContain(`${op.method} ${op.template}`);
  });

  it('answers every request, never with a 5xx', () => {
    expect(failing('no-answer', '5xx')).toEqual([]);
  });

  it('answers every error in the envelope, with its X-Request-Id', () => {
    expect(failing('envelope')).toEqual([]);
  });

  it('answers only what /docs-json documents', () => {
    expect(failing('document')).toEqual([]);
  });

  it('answers a method a known path does not have with 405 and Allow', () => {
    expect(failing('allow')).toEqual([]);
  });

  it('refuses malformed framing with 400, and headers too large with 431', () => {
    expect(failing('refusal')).toEqual([]);
  });

  it('answers HEAD as the GET, without a body', () => {
    const pairs = outcomes.filter((o) => o.fuzz.family === 'head');
    const answers = new Map(
      pairs.map((o) => [`${o.fuzz.auth} ${o.fuzz.method} ${o.fuzz.target}`, o.answer]),
    );
    const mismatched = pairs
      .filter((o) => o.fuzz.method === 'HEAD')
      .map((o) => ({
        head: o.answer?.status,
        get: answers.get(`${o.fuzz.auth} GET ${o.fuzz.target}`)?.status,
        o,
      }))
      .filter(({ head, get }) => head === undefined || head !== get)
      .map(
        ({ head, get, o }) =>
          `${o.fuzz.label} (${o.fuzz.auth} auth): HEAD ${head ?? 'no answer'}, GET ${get ?? 'no answer'}`,
      );
    expect(mismatched).toEqual([]);
  });
});
