/**
 * Checks answers against the app's own OpenAPI document (/docs-json), so the docs cannot drift
 * from what the service sends: the route and status must be documented, the content type must
 * be one the docs list for that status, and a JSON body must match the documented schema.
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

/** The `$id` under which the document's component schemas are registered with ajv. */
const COMPONENTS_ID = 'openapi-components.json';
const COMPONENT_REF = /^#\/components\/schemas\/(.+)$/;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Keywords whose value is one schema / a list of schemas / a map of schemas. */
const SCHEMA_KEYWORDS = new Set(['items', 'additionalProperties', 'not']);
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf']);
const SCHEMA_MAP_KEYWORDS = new Set(['properties']);
/** OpenAPI annotations that JSON Schema does not have; dropped rather than left to ajv. */
const OPENAPI_ONLY = new Set([
  'nullable',
  'example',
  'examples',
  'discriminator',
  'xml',
  'externalDocs',
  'deprecated',
]);

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An OpenAPI 3.0 schema as JSON Schema (draft 7) for ajv:
 * - `nullable: true` admits null (added to `type` and to `enum`, or as an `anyOf` branch when
 *   the schema has no single type);
 * - `#/components/schemas/X` points at the registered components;
 * - an object schema that lists its `properties` and says nothing of `additionalProperties` is
 *   closed: a field the service sends but the docs do not name is drift too.
 */
export function toJsonSchema(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (OPENAPI_ONLY.has(key)) continue;
    if (key === '$ref' && typeof value === 'string') {
      const match = COMPONENT_REF.exec(value);
      out.$ref = match ? `${COMPONENTS_ID}#/definitions/${match[1]}` : value;
    } else if (SCHEMA_KEYWORDS.has(key)) {
      out[key] = toJsonSchema(value);
    } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
      out[key] = value.map(toJsonSchema);
    } else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, toJsonSchema(sub)]),
      );
    } else {
      out[key] = value;
    }
  }
  const composed = ['allOf', 'anyOf', 'oneOf', '$ref'].some((k) => k in out);
  if (isObject(out.properties) && out.additionalProperties === undefined && !composed) {
    out.additionalProperties = false;
  }
  if (schema.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

interface Route {
  template: string;
  pattern: RegExp;
  /** Literal segments first: `/client/relay/events` is tried before `/client/relay/{relay_id}`. */
  rank: number[];
  item: Json;
}

function compileRoute(template: string, item: Json): Route {
  const segments = template.split('/').slice(1);
  const source = segments
    .map((s) => (/^\{[^}]+\}$/.test(s) ? '/[^/]+' : '/' + s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return {
    template,
    pattern: new RegExp(`^${source}$`),
    rank: segments.map((s) => (s.startsWith('{') ? 1 : 0)),
    item,
  };
}

function compareRank(a: Route, b: Route): number {
  for (let i = 0; i < Math.min(a.rank.length, b.rank.length); i++) {
    if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
  }
  return a.rank.length - b.rank.length;
}

const mediaTypeOf = (contentType: string | null) =>
  (contentType ?? '').split(';')[0].trim().toLowerCase();

const isJsonMedia = (media: string) => media === 'application/json' || media.endsWith('+json');

function mediaMatches(documented: string, actual: string): boolean {
  if (documented === '*/*' || documented === actual) return true;
  return documented.endsWith('/*') && actual.startsWith(documented.slice(0, -1));
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath === '' ? '(body)' : e.instancePath;
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})`
          : e.keyword === 'enum'
            ? ` ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}`
            : '';
      return `  ${where} ${e.message ?? e.keyword}${extra}   [schema ${e.schemaPath}]`;
    })
    .join('\n');
}

function preview(body: unknown): string {
  if (body === undefined) return '(none)';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}

export class OpenApiMismatch extends Error {
  override name = 'OpenApiMismatch';
}

export class OpenApiValidator {
  private readonly ajv: Ajv;
  private readonly routes: Route[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly document: Json) {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const components = isObject(document.components) ? document.components : {};
    const schemas = isObject(components.schemas) ? components.schemas : {};
    this.ajv.addSchema({
      $id: COMPONENTS_ID,
      definitions: Object.fromEntries(
        Object.entries(schemas).map(([name, schema]) => [name, toJsonSchema(schema)]),
      ),
    });
    const paths = isObject(document.paths) ? document.paths : {};
    this.routes = Object.entries(paths)
      .filter((entry): entry is [string, Json] => isObject(entry[1]))
      .map(([template, item]) => compileRoute(template, item))
      .sort(compareRank);
  }

  /** Reads /docs-json from a running app. */
  static async load(baseUrl: string): Promise<OpenApiValidator> {
    const response = await fetch(`${baseUrl}/docs-json`);
    if (response.status !== 200) {
      throw new Error(`GET /docs-json answered ${response.status}: ${await response.text()}`);
    }
    return new OpenApiValidator((await response.json()) as Json);
  }

  /**
   * The operation that answers `method` on `path` (query and fragment ignored), as the router
   * picks it: the most literal matching template that has this method.
   */
  findOperation(method: string, path: string): { template: string; operation: Json } | null {
    const bare = path.split(/[?#]/)[0];
    const verb = method.toLowerCase();
    for (const route of this.routes) {
      if (!route.pattern.test(bare)) continue;
      const operation = route.item[verb];
      if (METHODS.includes(verb) && isObject(operation)) {
        return { template: route.template, operation };
      }
    }
    return null;
  }

  /**
   * The methods documented for the path template that `path` falls under as the router picks
   * it (the most literal matching one), or null for a path the docs do not have.
   */
  methodsOf(path: string): { template: string; methods: string[] } | null {
    const bare = path.split(/[?#]/)[0];
    const route = this.routes.find((r) => r.pattern.test(bare));
    if (route === undefined) return null;
    const methods = METHODS.filter((m) => isObject(route.item[m])).map((m) => m.toUpperCase());
    return { template: route.template, methods };
  }

  /**
   * The operation whose documented responses cover this answer. Besides the operation of the
   * method itself: HEAD on a path with GET is the GET (headers only, RFC 9110), and a method the
   * path does not have is answered 405 by the HTTP layer, as each operation of the path
   * documents; its body is the same error envelope whichever of them describes it.
   */
  private describing(
    method: string,
    path: string,
    status: number,
  ): { template: string; operation: Json } | null {
    const found = this.findOperation(method, path);
    if (found !== null) return found;
    if (method.toUpperCase() === 'HEAD') return this.findOperation('GET', path);
    const known = this.methodsOf(path);
    if (status !== 405 || known === null || known.methods.includes(method.toUpperCase())) {
      return null;
    }
    for (const other of known.methods) {
      const candidate = this.findOperation(other, path);
      const responses = candidate === null ? undefined : candidate.operation.responses;
      if (candidate !== null && isObject(responses) && isObject(responses['405'])) {
        return candidate;
      }
    }
    return null;
  }

  /**
   * Throws an OpenApiMismatch unless the answer is what the docs say. `body` is the parsed JSON
   * for a JSON answer, else the text; undefined or '' for an empty body. Bodies that are not
   * JSON (the event stream, Prometheus text, Swagger UI's page) are not checked, but their
   * status and content type still must be documented. Given the answer's `headers`, those the
   * docs mark required for this status (X-Request-Id, Allow, Retry-After) must be there too.
   */
  check(
    method: string,
    path: string,
    status: number,
    contentType: string | null,
    body: unknown,
    headers?: Headers,
  ): void {
    const request = `${method.toUpperCase()} ${path}`;
    const found = this.describing(method, path, status);
    if (found === null) {
      throw new OpenApiMismatch(`${request}: no such operation in /docs-json (answered ${status})`);
    }
    const { template, operation } = found;
    const route = `${method.toUpperCase()} ${template}`;
    if (method.toUpperCase() === 'HEAD' && body !== undefined && body !== '') {
      throw new OpenApiMismatch(`${route} (${request}) answered ${status} with a body to HEAD`);
    }
    const responses = isObject(operation.responses) ? operation.responses : {};
    const statusKey = [String(status), `${String(status)[0]}XX`, 'default'].find((key) =>
      isObject(responses[key]),
    );
    if (statusKey === undefined) {
      throw new OpenApiMismatch(
        `${route} (${request}) answered ${status}, which the docs do not list ` +
          `(documented: ${Object.keys(responses).join(', ')}); body: ${preview(body)}`,
      );
    }
    const response = responses[statusKey] as Json;
    if (headers !== undefined && isObject(response.headers)) {
      const missing = Object.entries(response.headers)
        .filter(([, header]) => isObject(header) && header.required === true)
        .map(([name]) => name)
        .filter((name) => !headers.has(name));
      if (missing.length > 0) {
        throw new OpenApiMismatch(
          `${route} (${request}) answered ${status} without the documented header ` +
            `${missing.join(', ')}`,
        );
      }
    }
    const empty = body === undefined || body === '';
    const content = isObject(response.content) ? response.content : undefined;
    if (content === undefined) {
      if (empty) return;
      throw new OpenApiMismatch(
        `${route} (${request}) answered ${status} with a body, but the docs describe none; ` +
          `body: ${preview(body)}`,
      );
    }
    const media = mediaTypeOf(contentType);
    const documented = Object.keys(content).find((key) => mediaMatches(key.toLowerCase(), media));
    if (documented === undefined) {
      if (empty) return;
      throw new OpenApiMismatch(
        `${route} (${request}) answered ${status} as "${contentType ?? 'no content type'}", ` +
          `but the docs list ${Object.keys(content).join(', ')} for ${statusKey}`,
      );
    }
    if (!isJsonMedia(media) || method.toUpperCase() === 'HEAD') return;
    const mediaObject = content[documented];
    if (!isObject(mediaObject) || mediaObject.schema === undefined) return;
    if (typeof body === 'string') {
      throw new OpenApiMismatch(`${route} (${request}) answered ${status} with unparsed JSON`);
    }
    const validate = this.validatorFor(`${route} ${statusKey} ${documented}`, mediaObject.schema);
    if (!validate(body)) {
      throw new OpenApiMismatch(
        `${route} (${request}) answered ${status}, which does not match the documented schema ` +
          `of ${statusKey}:\n${describeErrors(validate.errors)}\nbody: ${preview(body)}`,
      );
    }
  }

  /** Checks a value against one component schema, e.g. an event against `EventView`. */
  checkSchema(name: string, value: unknown): void {
    const validate = this.validatorFor(`component ${name}`, {
      $ref: `#/components/schemas/${name}`,
    });
    if (!validate(value)) {
      throw new OpenApiMismatch(
        `value does not match schema ${name}:\n${describeErrors(validate.errors)}\n` +
          `value: ${preview(value)}`,
      );
    }
  }

  private validatorFor(key: string, schema: unknown): ValidateFunction {
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      try {
        validate = this.ajv.compile(toJsonSchema(schema) as Json);
      } catch (error) {
        throw new OpenApiMismatch(
          `${key}: the documented schema does not compile: ${(error as Error).message}`,
        );
      }
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

let shared: Promise<OpenApiValidator> | undefined;

/**
 * The validator for this test file, built from the first app that asks. Every app of a run
 * serves the same document (it depends on the code, not on settings), so it is read once.
 */
export function openApiValidator(baseUrl: string): Promise<OpenApiValidator> {
  shared ??= OpenApiValidator.load(baseUrl).catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}
