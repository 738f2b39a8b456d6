/**
 * The fan-out floor: a bare node:http server that holds server-sent event streams on the path
 * and with the headers of the service's stream, and writes one frame to every open stream per
 * trigger. It reads no token, no database and no log: what is left is the cost of holding the
 * sockets and writing the bytes, the least any server can spend on a fan-out. Run as its own
 * process by bench/run.ts (transpiled to dist/bench/sse-floor.js):
 *   PORT=8091 node dist/bench/sse-floor.js
 *
 * GET /client/relay/events?room_id=...  opens a stream
 * POST /client/relay/frame?bytes=N       writes an N-byte frame with the next id to every stream,
 *                                        then answers the service's success envelope
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

const streams = new Set<http.ServerResponse>();
let lastId = 0;

/** `id:`, `event:` and `data:` lines like the service's, padded to `bytes` in all. */
function frame(bytes: number): string {
  const head = `id: ${++lastId}\nevent: relay.status_changed\ndata: `;
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}\n\n`;
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://floor');
  if (request.method === 'GET' && url.pathname === '/client/relay/events') {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': randomUUID(),
    });
    response.write('retry: 2000\n\n');
    streams.add(response);
    response.on('close', () => streams.delete(response));
    return;
  }
  if (request.method === 'POST' && url.pathname === '/client/relay/frame') {
    request.resume();
    request.on('end', () => {
      const text = frame(Number(url.searchParams.get('bytes') ?? 0));
      for (const stream of streams) stream.write(text);
      const requestId = randomUUID();
      response
        .writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'x-request-id': requestId,
        })
        .end(JSON.stringify({ request_id: requestId, code: 0, message: 'success', data: {} }));
    });
    return;
  }
  response.writeHead(404).end();
});

server.listen(Number(process.env.PORT ?? 8091), '127.0.0.1', () =>
  process.stdout.write(`sse floor listening on ${process.env.PORT ?? 8091}\n`),
);
