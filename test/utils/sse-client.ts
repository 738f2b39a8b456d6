/**
 * A real server-sent events client for the e2e specs: one plain HTTP/1.1 request per stream
 * (node:http, no connection pooling), its body parsed as text/event-stream the way the WHATWG
 * EventSource parser does (fields `id`, `event`, `data`, `retry`; `:` comment lines; a blank
 * line dispatches; CRLF, LF or CR line ends). Everything received is kept with its arrival time
 * so specs can assert order, content and latency.
 */
import { request as httpRequest, IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WAIT_MS } from './wait';

export interface SseMessage {
  /** The `id:` field of this message, or undefined when the message carried none. */
  id: string | undefined;
  /** The last event id after this message (what a browser would send on reconnect). */
  lastEventId: string;
  /** The `event:` field, or "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** performance.now() when the message's terminating blank line was parsed. */
  at: number;
  /** Date.now() at the same moment. */
  wallAt: number;
}

export interface SseComment {
  /** The comment text, without the leading ':' and one optional space. */
  text: string;
  at: number;
  wallAt: number;
}

/** Everything the stream carried, in arrival order. */
export type SseItem =
  | { kind: 'message'; message: SseMessage }
  | { kind: 'comment'; comment: SseComment }
  | { kind: 'retry'; retry: number; at: number };

export interface SseConnectOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as the `Last-Event-ID` header. */
  lastEventId?: string;
  /** Query parameters, URL-encoded and appended to the path. */
  query?: Record<string, string | number | undefined>;
  /** Any other request headers. */
  headers?: Record<string, string>;
  /** How long to wait for the response headers (default WAIT_MS). */
  timeoutMs?: number;
}

type Waiter = { check: () => boolean; fail: (error: Error) => void };

export class SseClient {
  /** HTTP status of the response. */
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** performance.now() when the response headers arrived. */
  connectedAt = 0;
  /** The raw body of a response that is not an event stream (an error envelope), once ended. */
  body = '';
  readonly messages: SseMessage[] = [];
  readonly comments: SseComment[] = [];
  readonly items: SseItem[] = [];
  /** The last `retry:` value received, if any. */
  retry: number | undefined;
  /** True once the server ended the response (or the connection was lost). */
  ended = false;
  /** performance.now() when the stream ended. */
  endedAt: number | undefined;
  /** True when the server finished the response properly (not a dropped connection). */
  endedCleanly = false;
  /** Set when the connection failed rather than ending cleanly. */
  error: Error | undefined;

  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
  private lastCharWasCR = false;
  private lastEventIdBuffer = '';
  private eventType = '';
  private dataLines: string[] | null = null;
  private idInMessage: string | undefined;
  private waiters = new Set<Waiter>();
  private destroy: () => void = () => undefined;
  private closedByClient = false;

  private constructor() {}

  /**
   * Opens `path` on `baseUrl` and resolves once the response headers are in (any status; a
   * non-2xx body is collected into `body`, see `json()`).
   */
  static connect(
    baseUrl: string,
    path: string,
    options: SseConnectOptions = {},
  ): Promise<SseClient> {
    const client = new SseClient();
    const url = new URL(path, baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
      ...options.headers,
    };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;

    const timeoutMs = options.timeoutMs ?? WAIT_MS;
    return new Promise<SseClient>((resolve, reject) => {
      const req = httpRequest(url, { method: 'GET', headers, agent: false });
      const timer = setTimeout(() => {
        req.destroy(new Error(`no response headers from ${url.toString()} within ${timeoutMs} ms`));
      }, timeoutMs);
      client.destroy = () => req.destroy();
      req.on('error', (error) => {
        clearTimeout(timer);
        if (client.status === 0) reject(error);
        else client.finish(client.closedByClient ? undefined : error);
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        client.connectedAt = performance.now();
        const isStream = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
        res.on('data', (chunk: Buffer) => {
          if (isStream) client.feed(client.decoder.decode(chunk, { stream: true }));
          else client.body += chunk.toString('utf8');
        });
        res.on('end', () => {
          client.endedCleanly = true;
          client.finish();
        });
        res.on('error', (error) => client.finish(client.closedByClient ? undefined : error));
        res.on('close', () => client.finish());
        resolve(client);
      });
      req.end();
    });
  }

  /** The body of a non-stream answer as JSON (the error envelope); waits for it to end. */
  async json<T = any>(timeoutMs = WAIT_MS): Promise<T> {
    await this.waitForEnd(timeoutMs);
    return JSON.parse(this.body) as T;
  }

  /** The `data` of every message parsed as JSON. */
  data<T = any>(): T[] {
    return this.messages.map((m) => JSON.parse(m.data) as T);
  }

  /** The `id` of every message as numbers. */
  ids(): number[] {
    return this.messages.map((m) => Number(m.id));
  }

  /**
   * Resolves with the messages once there are at least `count` of them, or once
   * `predicate(messages)` holds; rejects after `timeoutMs` or when the stream ends first.
   */
  waitFor(
    condition: number | ((messages: SseMessage[]) => boolean),
    timeoutMs = WAIT_MS,
  ): Promise<SseMessage[]> {
    const holds =
      typeof condition === 'number'
        ? () => this.messages.length >= condition
        : () => condition(this.messages);
    const what = typeof condition === 'number' ? `${condition} messages` : 'the expected messages';
    return this.until(holds, what, timeoutMs).then(() => this.messages);
  }

  /** Resolves with the first message that matches, waiting for it if need be. */
  async next(
    predicate: (message: SseMessage) => boolean,
    timeoutMs = WAIT_MS,
  ): Promise<SseMessage> {
    await this.waitFor((messages) => messages.some(predicate), timeoutMs);
    return this.messages.find(predicate) as SseMessage;
  }

  /** Resolves with the first comment received after `since` (a performance.now() time). */
  async waitForComment(timeoutMs = WAIT_MS, since = 0): Promise<SseComment> {
    const found = () => this.comments.find((c) => c.at >= since);
    await this.until(() => found() !== undefined, 'a comment line', timeoutMs);
    return found() as SseComment;
  }

  /** Resolves once the server has ended the stream. */
  waitForEnd(timeoutMs = WAIT_MS): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          if (!this.ended) return false;
          resolve();
          return true;
        },
        fail: reject,
      };
      this.addWaiter(waiter, 'the end of the stream', timeoutMs, true);
    });
  }

  /** Closes the connection from the client side. */
  close(): void {
    if (this.ended) return;
    this.closedByClient = true;
    this.destroy();
    this.finish();
  }

  private until(holds: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          if (!holds()) return false;
          resolve();
          return true;
        },
        fail: reject,
      };
      this.addWaiter(waiter, what, timeoutMs, false);
    });
  }

  private addWaiter(waiter: Waiter, what: string, timeoutMs: number, endIsSuccess: boolean) {
    const describe = () =>
      `${this.messages.length} messages (ids ${this.messages.map((m) => m.id).join(',')}), ` +
      `${this.comments.length} comments, status ${this.status}, ended ${this.ended}`;
    const timer = setTimeout(() => {
      this.waiters.delete(wrapped);
      waiter.fail(
        new Error(`timed out after ${timeoutMs} ms waiting for ${what}; had ${describe()}`),
      );
    }, timeoutMs);
    const wrapped: Waiter = {
      check: () => {
        if (waiter.check()) {
          clearTimeout(timer);
          return true;
        }
        if (this.ended && !endIsSuccess) {
          clearTimeout(timer);
          waiter.fail(new Error(`stream ended while waiting for ${what}; had ${describe()}`));
          return true;
        }
        return false;
      },
      fail: waiter.fail,
    };
    if (!wrapped.check()) this.waiters.add(wrapped);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) if (waiter.check()) this.waiters.delete(waiter);
  }

  private finish(error?: Error): void {
    if (this.ended) return;
    this.error ??= error;
    this.ended = true;
    this.endedAt = performance.now();
    this.notify();
  }

  /** Splits text into lines on CRLF, LF or CR, even when a CRLF spans two chunks. */
  private feed(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '\n' && this.lastCharWasCR) {
        // The LF of a CRLF whose CR ended the previous line (in the previous chunk).
        this.lastCharWasCR = false;
        start = i + 1;
        continue;
      }
      if (c === '\r' || c === '\n') {
        const line = this.pending + text.slice(start, i);
        this.pending = '';
        this.lastCharWasCR = c === '\r';
        if (c === '\r' && i + 1 < text.length && text[i + 1] === '\n') {
          i++;
          this.lastCharWasCR = false;
        }
        start = i + 1;
        this.line(line);
      } else {
        this.lastCharWasCR = false;
      }
    }
    this.pending += text.slice(start);
    this.notify();
  }

  private line(line: string): void {
    const at = performance.now();
    if (line === '') return this.dispatch(at);
    if (line.startsWith(':')) {
      const text = line.slice(1).replace(/^ /, '');
      const comment = { text, at, wallAt: Date.now() };
      this.comments.push(comment);
      this.items.push({ kind: 'comment', comment });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        (this.dataLines ??= []).push(value);
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventIdBuffer = value;
          this.idInMessage = value;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) {
          this.retry = Number(value);
          this.items.push({ kind: 'retry', retry: this.retry, at });
        }
        break;
      default:
        // Unknown fields are ignored, as EventSource does.
        break;
    }
  }

  private dispatch(at: number): void {
    const dataLines = this.dataLines;
    const id = this.idInMessage;
    const event = this.eventType;
    this.dataLines = null;
    this.idInMessage = undefined;
    this.eventType = '';
    if (dataLines === null) return; // nothing to dispatch (e.g. a retry-only block)
    const message: SseMessage = {
      id,
      lastEventId: this.lastEventIdBuffer,
      event: event === '' ? 'message' : event,
      data: dataLines.join('\n'),
      at,
      wallAt: Date.now(),
    };
    this.messages.push(message);
    this.items.push({ kind: 'message', message });
  }
}

/** The messages of a stream as `{id, event, data}`, data parsed (the shape of `expectedFrame`). */
export const frames = (s: SseClient) =>
  s.messages.map((m) => ({ id: m.id, event: m.event, data: JSON.parse(m.data) }));

/** Opens an event stream; shorthand for SseClient.connect. */
export function openStream(
  baseUrl: string,
  path: string,
  options: SseConnectOptions = {},
): Promise<SseClient> {
  return SseClient.connect(baseUrl, path, options);
}
