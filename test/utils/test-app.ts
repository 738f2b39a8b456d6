import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app.config';
import { parseDatabaseUrl } from '../../src/database/database.hosts';
import { openApiValidator } from './openapi-validator';

export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  /** Sent as JSON unless it is a string (then sent as it is). */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Skips the check against /docs-json, for the few specs that call what is deliberately not an
   * API operation (an unknown route). Every other answer must be what the docs describe.
   */
  unchecked?: boolean;
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  dataSource: DataSource;
  baseUrl: string;
  /** Every JSON log line the app wrote, as text, oldest first. */
  logs: string[];
  /** The database this app uses: `mysql://.../relay_e2e_x` or `sqlite:/tmp/.../relay.db`. */
  databaseUrl: string;
  /** Calls the app; the answer is checked against its OpenAPI document (see `unchecked`). */
  call<T = any>(method: string, path: string, options?: CallOptions): Promise<HttpAnswer<T>>;
  /** Stops the app and keeps its database, as a node going down would. */
  stop(): Promise<void>;
  /** Stops the app (if still running) and drops a database it created. */
  close(): Promise<void>;
}

let counter = 0;

export interface FreshDatabase {
  /** DATABASE_URL: `mysql://.../relay_e2e_x` or `sqlite:/tmp/.../relay.db`. */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database per app or spawned process, so spec files can run in parallel on either
 * database: a temporary SQLite file by default, or a new MySQL database when DATABASE_URL is
 * mysql:// or mariadb://.
 */
export async function freshDatabase(): Promise<FreshDatabase> {
  const base = process.env.DATABASE_URL;
  if (base !== undefined && clusterHosts(base) !== null) return freshClusterDatabase(base);
  if (base !== undefined && /^(mysql|mariadb):\/\//.test(base)) {
    const name = `relay_e2e_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
    const server = new URL(base.replace(/^mariadb:/, 'mysql:'));
    server.pathname = '/';
    const admin = await createConnection(server.toString());
    await admin.query(
      `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        const c = await createConnection(server.toString());
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'relay-e2e-'));
  return {
    url: `sqlite:${join(dir, 'relay.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The `host:port`s of a DATABASE_URL that names several hosts (a Galera cluster), else null. */
function clusterHosts(url: string): string[] | null {
  const target = parseDatabaseUrl(url);
  if (typeof target === 'string' || target.hosts.length < 2) return null;
  return target.hosts.map(({ host, port }) => `${host}:${port}`);
}

/** A new database on the cluster, created through its first host and replicated to the rest. */
async function freshClusterDatabase(base: string): Promise<FreshDatabase> {
  const hosts = clusterHosts(base) as string[];
  const name = `relay_e2e_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = async (statement: string) => {
    const c = await createConnection(`mysql://root@${hosts[0]}/`);
    await c.query(statement);
    await c.end();
  };
  await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  // Another node may apply the CREATE a moment after the first answered, and an app attached to
  // it would then fail to connect ("Unknown database"): each node is asked, with a causal read.
  for (const host of hosts) {
    const c = await createConnection(`mysql://root@${host}/`);
    try {
      await c.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await c.query(
        'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [name],
      );
      if ((rows as unknown[]).length !== 1) throw new Error(`database ${name} not on ${host}`);
    } finally {
      await c.end();
    }
  }
  return {
    url: base.replace(/\/[^/?#]*(?=[?#]|$)/, `/${name}`),
    drop: () => admin(`DROP DATABASE IF EXISTS \`${name}\``),
  };
}

let started = 0;

/**
 * On a cluster, each app started is attached to the next database node (its URL lists that
 * node first, the others after it for failover), so a spec's second and third nodes write
 * through other database nodes than its first, as service nodes of a Galera deployment do.
 */
function attachToNextNode(url: string): string {
  const hosts = clusterHosts(url);
  if (hosts === null) return url;
  const first = started++ % hosts.length;
  const order = hosts.map((_, i) => hosts[(first + i) % hosts.length]);
  return url.replace(/@[^/]+/, `@${order.join(',')}`);
}

/**
 * Starts the real application on 127.0.0.1 and a random port. `env` overrides settings; pass
 * another app's `databaseUrl` as DATABASE_URL to run a second node on the same database.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  // A database named by the caller belongs to the caller: it is neither created nor dropped.
  const db =
    env.DATABASE_URL === undefined
      ? await freshDatabase()
      : { url: env.DATABASE_URL, drop: async () => undefined };
  const databaseUrl = db.url;
  const config = loadConfig({
    NODE_ENV: 'test',
    ...env,
    DATABASE_URL: attachToNextNode(databaseUrl),
  });
  const logs: string[] = [];
  const app = await createApp(config, {
    logDestination: { write: (line: string) => logs.push(line) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= app.close());
  return {
    app,
    config,
    dataSource: app.get(DataSource),
    baseUrl,
    databaseUrl,
    logs,
    call: async (method, path, options = {}) => {
      const answer = await call(baseUrl, method, path, options);
      if (options.unchecked !== true && !isCorsPreflight(method, options.headers)) {
        const validator = await openApiValidator(baseUrl);
        const body = answer.text.length === 0 ? undefined : answer.body;
        validator.check(method, path, answer.status, answer.headers.get('content-type'), body);
      }
      return answer;
    },
    stop,
    close: async () => {
      await stop();
      await db.drop();
    },
  };
}

/**
 * Three apps on one database, as three nodes behind a load balancer: the first creates the
 * database (a fresh one), the other two are started on it. Close them with `closeNodes`.
 */
export async function startNodes(env: Record<string, string>): Promise<TestApp[]> {
  const first = await startTestApp(env);
  const others = await Promise.all(
    [1, 2].map(() => startTestApp({ ...env, DATABASE_URL: first.databaseUrl })),
  );
  return [first, ...others];
}

/** Closes the nodes of `startNodes` (if they started), the first last. */
export async function closeNodes(nodes: TestApp[] | undefined): Promise<void> {
  // The first node created the database and drops it, so it goes last.
  for (const node of [...(nodes ?? [])].reverse()) await node.close();
}

/**
 * A CORS preflight is answered by the CORS layer before any route, and OpenAPI has no way to
 * describe it; its answer is checked by the CORS specs themselves.
 */
function isCorsPreflight(method: string, headers: Record<string, string> = {}): boolean {
  return (
    method.toUpperCase() === 'OPTIONS' &&
    Object.keys(headers).some((name) => name.toLowerCase() === 'access-control-request-method')
  );
}

export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(baseUrl + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text.length > 0) {
    parsed = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}
