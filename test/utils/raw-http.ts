/**
 * HTTP/1.1 over a bare `node:net` socket, for requests that fetch refuses to send or repairs on
 * the way: bad framing, a missing Host, duplicate headers, a body on GET, header blocks of any
 * size. Each request has a connection of its own (`Connection: close`).
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Headers;
  /** The body, de-chunked; empty for HEAD and for an event stream (read up to its headers). */
  text: string;
}

/** Why a request got no usable answer: the connection closed, or nothing came in time. */
export class NoAnswer extends Error {
  override name = 'NoAnswer';
}

const HEAD_END = '\r\n\r\n';

function parseHead(head: string): { status: number; headers: Headers } {
  const [statusLine, ...lines] = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match === null) throw new NoAnswer(`not an HTTP answer: ${JSON.stringify(statusLine)}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers };
}

/** The body of a chunked answer, or null while it is incomplete. */
function dechunk(raw: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new NoAnswer('bad chunk in the answer');
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (raw.length < start + size + 2) return null;
    parts.push(raw.subarray(start, start + size));
    at = start + size + 2;
  }
}

/**
 * Sends `request` (the whole message, bytes as given) and reads one answer. `endAfterWrite`
 * half-closes the connection after sending, as a client that sent a short body and gave up.
 */
export function rawRequest(
  port: number,
  request: Buffer | string,
  options: { method: string; timeoutMs?: number; endAfterWrite?: boolean },
): Promise<RawAnswer> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => finish(new NoAnswer(`no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    /** The answer, once all of it is in; null while more is to come. */
    const complete = (closed: boolean): RawAnswer | null => {
      const headEnd = received.indexOf(HEAD_END);
      if (headEnd < 0) return null;
      const { status, headers } = parseHead(received.subarray(0, headEnd).toString('latin1'));
      const rest = received.subarray(headEnd + HEAD_END.length);
      const streaming = (headers.get('content-type') ?? '').startsWith('text/event-stream');
      if (options.method.toUpperCase() === 'HEAD' || streaming || status === 204) {
        return { status, headers, text: streaming ? rest.toString('utf8') : '' };
      }
      if ((headers.get('transfer-encoding') ?? '').toLowerCase() === 'chunked') {
        const body = dechunk(rest);
        return body === null ? null : { status, headers, text: body.toString('utf8') };
      }
      const length = headers.get('content-length');
      if (length !== null) {
        if (rest.length < Number(length)) return null;
        return { status, headers, text: rest.subarray(0, Number(length)).toString('utf8') };
      }
      return closed ? { status, headers, text: rest.toString('utf8') } : null;
    };
    const settle = (closed: boolean) => {
      try {
        const answer = complete(closed);
        if (answer !== null) finish(answer);
        else if (closed) finish(new NoAnswer(describeClosed(received)));
      } catch (error) {
        finish(error as Error);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      settle(false);
    });
    socket.on('end', () => settle(true));
    socket.on('close', () => settle(true));
    socket.on('error', (error) => {
      // A reset after a full answer (the server closing on a request it refused) is fine.
      settle(true);
      finish(new NoAnswer(`connection error: ${error.message}`));
    });
    socket.write(request, () => {
      if (options.endAfterWrite === true) socket.end();
    });
  });
}

function describeClosed(received: Buffer): string {
  if (received.length === 0) return 'the connection closed with no answer';
  return `the connection closed mid-answer: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`;
}

/** A request message with the usual framing: Host, Content-Length for a body, Connection. */
export function message(
  method: string,
  target: string,
  host: string,
  headers: [string, string][],
  body?: Buffer | string,
): Buffer {
  const bytes = body === undefined ? undefined : Buffer.from(body);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (bytes !== undefined) lines.push(`Content-Length: ${bytes.length}`);
  const head = Buffer.from(lines.join('\r\n') + HEAD_END, 'latin1');
  return bytes === undefined ? head : Buffer.concat([head, bytes]);
}
