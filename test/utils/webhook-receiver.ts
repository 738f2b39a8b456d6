/**
 * A real webhook endpoint for e2e specs: an HTTP server on 127.0.0.1 that records every request
 * it gets and answers each one as its plan says (a status, after an optional delay, or no answer
 * at all). Written from docs/events.md alone, not from the service's code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { WAIT_MS } from './wait';

export interface ReceivedRequest {
  /** Arrival order on this receiver, from 0. */
  index: number;
  method: string;
  /** Path and query, as requested. */
  path: string;
  /** Lower-case names, as Node reports them. */
  headers: IncomingHttpHeaders;
  /** The raw body text, byte for byte as sent (UTF-8). */
  body: string;
  /** Date.now() when the whole body had arrived. */
  receivedAt: number;
  /** The status it was answered with; undefined when it was not answered. */
  answered?: number;
  /** Date.now() when the sender gave up on a request that was never answered. */
  abandonedAt?: number;
}

/**
 * How to answer one request: a status (200 after no delay), or a status after `delayMs`, or
 * `hang: true` for no answer at all (until the sender gives up or the receiver closes).
 */
export type Reply = number | { status?: number; delayMs?: number; hang?: boolean; body?: string };

/** Chooses the reply to a request; undefined falls through to the queue, then the default. */
export type Responder = (request: ReceivedRequest, earlier: ReceivedRequest[]) => Reply | undefined;

export interface ReceiverOptions {
  /** Path part of `url` (default `/webhook`). */
  path?: string;
  /** Replies used one per request, in arrival order, before `fallback`. */
  queue?: Reply[];
  /** The reply once the queue is empty (default 200). */
  fallback?: Reply;
  /** Consulted first for every request. */
  respond?: Responder;
}

export interface WebhookReceiver {
  /** Where to POST, e.g. http://127.0.0.1:41234/webhook. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Adds replies to the queue. */
  enqueue(...replies: Reply[]): void;
  /** Replaces the reply used once the queue is empty. */
  setFallback(reply: Reply): void;
  /** Replaces (or with undefined removes) the responder consulted first. */
  setResponder(respond: Responder | undefined): void;
  /** Requests whose X-Relay-Event-Id is `eventId`, in arrival order. */
  forEvent(eventId: number | string): ReceivedRequest[];
  /** Resolves with all requests once at least `count` have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Resolves once `predicate(requests)` holds; rejects after `timeoutMs`. */
  waitUntil(
    predicate: (requests: ReceivedRequest[]) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export async function startWebhookReceiver(
  options: ReceiverOptions = {},
): Promise<WebhookReceiver> {
  const path = options.path ?? '/webhook';
  const requests: ReceivedRequest[] = [];
  const queue: Reply[] = [...(options.queue ?? [])];
  let fallback: Reply = options.fallback ?? 200;
  let respond: Responder | undefined = options.respond;
  let waiters: Waiter[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  const notify = () => {
    waiters = waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        index: requests.length,
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      };
      const earlier = requests.slice();
      requests.push(request);
      const reply = normalise(respond?.(request, earlier) ?? queue.shift() ?? fallback);
      res.on('close', () => {
        if (!res.writableFinished && request.abandonedAt === undefined)
          request.abandonedAt = Date.now();
      });
      const answer = () => {
        if (closing || res.destroyed) return;
        request.answered = reply.status;
        res.writeHead(reply.status, { 'content-type': 'text/plain' });
        res.end(reply.body);
      };
      notify();
      if (reply.hang) return;
      if (reply.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, reply.delayMs);
        timers.add(timer);
      } else answer();
    });
  };

  const server: Server = createServer(handle);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const waitUntil = (
    predicate: (all: ReceivedRequest[]) => boolean,
    timeoutMs = WAIT_MS,
    what = 'the expected requests',
  ): Promise<ReceivedRequest[]> =>
    new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check: () => predicate(requests),
        resolve: () => {
          clearTimeout(timer);
          resolve(requests);
        },
      };
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== waiter);
        const seen = requests
          .map((r) => `${r.method} ${r.path} event ${String(r.headers['x-relay-event-id'])}`)
          .join('; ');
        reject(
          new Error(
            `webhook receiver: ${what} did not arrive within ${timeoutMs} ms; ` +
              `got ${requests.length}: ${seen || 'none'}`,
          ),
        );
      }, timeoutMs);
      if (waiter.check()) waiter.resolve();
      else waiters.push(waiter);
    });

  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    enqueue: (...replies) => queue.push(...replies),
    setFallback: (reply) => {
      fallback = reply;
    },
    setResponder: (r) => {
      respond = r;
    },
    forEvent: (eventId) =>
      requests.filter((r) => r.headers['x-relay-event-id'] === String(eventId)),
    waitForRequests: (count, timeoutMs) =>
      waitUntil((all) => all.length >= count, timeoutMs, `${count} request(s)`),
    waitUntil,
    close: async () => {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function normalise(reply: Reply): {
  status: number;
  delayMs: number;
  hang: boolean;
  body: string;
} {
  if (typeof reply === 'number') return { status: reply, delayMs: 0, hang: false, body: 'ok' };
  return {
    status: reply.status ?? 200,
    delayMs: reply.delayMs ?? 0,
    hang: reply.hang ?? false,
    body: reply.body ?? 'ok',
  };
}

/** Reads one header from Node's lower-cased map or from a fetch Headers, case-insensitively. */
function header(
  headers: IncomingHttpHeaders | Headers | Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The receiver's check of docs/events.md: `X-Relay-Signature` is a comma-separated list (two
 * entries while the sender rotates its secret) of `sha256=` and a hex HMAC-SHA256 of
 * `<X-Relay-Timestamp>.<raw body>`; one of them must be the one keyed with the shared secret.
 */
export function verifySignature(
  secret: string,
  headers: IncomingHttpHeaders | Headers | Record<string, string | string[] | undefined>,
  rawBody: string,
): boolean {
  const timestamp = header(headers, 'x-relay-timestamp');
  const signature = header(headers, 'x-relay-signature');
  if (timestamp === undefined || !/^\d+$/.test(timestamp) || signature === undefined) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest();
  return signature.split(',').some((entry) => {
    const match = /^sha256=([0-9a-f]{64})$/.exec(entry);
    return match !== null && timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
  });
}
