import 'reflect-metadata';
import 'dotenv/config';
import { Server, ServerResponse } from 'node:http';
import { createServer, Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app.config';
import { databasePreflight } from './database/database.preflight';
import { createLogger } from './observability/logger';

/** What SIGTERM may take before the process leaves anyway (the contract allows 10 s). */
const DRAIN_LIMIT_MS = 9000;

/** Whether something already listens on the port, found by trying to bind it for a moment. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen({ port, host: '0.0.0.0' }, () => probe.close(() => resolve(false)));
  });
}

/**
 * Once `start()` is called, every connection closes as soon as its answer is out. A client that
 * keeps its connection alive would otherwise hold the server open after its last answer, and the
 * drain would wait for the 9 s fallback instead of ending with that answer. Connections idle at
 * that moment are closed by the server's own close; these are the ones busy with a request.
 * The busy ones are found through their sockets (Node keeps a socket's answer in flight on it)
 * rather than by listening to every answer, which cost a relay read about 1 % of its CPU.
 */
function closeConnectionsOnceAnswered(server: Server): { start(): void } {
  const sockets = new Set<Socket>();
  let draining = false;
  const closeAfter = (response: ServerResponse) => {
    // Tells the client not to reuse the connection, and makes Node close it after the answer.
    if (!response.headersSent) response.setHeader('connection', 'close');
    // An answer whose headers went out earlier (an event stream) ends with the connection
    // still open; it is idle once the answer is finished, and closed then.
    response.once('finish', () => setImmediate(() => server.closeIdleConnections()));
  };
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (_request, response: ServerResponse) => {
    if (draining) closeAfter(response);
  });
  return {
    start: () => {
      draining = true;
      for (const socket of sockets) {
        const response = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
        if (response) closeAfter(response);
      }
      server.closeIdleConnections();
    },
  };
}

function exitPortInUse(port: number): never {
  // The usual first-day mistake (a second `npm start`, or another service on 8080): one line
  // that says what to do instead of a stack trace.
  createLogger('info').fatal(`port ${port} is in use: stop the other process or set PORT`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Plain text on stderr, the block docs/operations.md shows: read by a person at a terminal
    // (or in the orchestrator's "last output"), and a JSON line with escaped newlines is not.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  // Checked before the app starts, so that a taken port is the only thing the operator reads;
  // the listen below still catches a port taken in between.
  if (config.port !== 0 && (await portInUse(config.port))) exitPortInUse(config.port);
  const databaseProblem = await databasePreflight(config);
  if (databaseProblem !== null) {
    createLogger('info').fatal(databaseProblem);
    process.exit(1);
  }
  const app = await createApp(config);
  const connections = closeConnectionsOnceAnswered(app.getHttpServer());
  const logger = new Logger('Bootstrap');
  if (config.devKeysInUse.length > 0) {
    logger.warn(
      `using development keys for ${config.devKeysInUse.join(', ')}: fine on your machine, ` +
        'refused with NODE_ENV=production',
    );
  }
  const db =
    config.database.kind === 'mysql' ? 'MySQL/MariaDB' : `SQLite file ${config.database.file}`;
  try {
    await app.listen({ port: config.port, host: '0.0.0.0' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    exitPortInUse(config.port);
  }
  const { port } = app.getHttpServer().address() as { port: number };
  logger.log(`listening on port ${port} with ${db}; Swagger UI at /docs`);

  // Nest's own signal handling re-raises the signal after closing, so the exit code would
  // be 143; an orderly drain must end with 0. app.close() ends the streams with a last
  // message, stops the timers and dispatchers, lets in-flight requests finish (new ones get
  // 503), then closes the database.
  let draining = false;
  const drain = (signal: string) => {
    if (draining) return;
    draining = true;
    logger.log(`${signal}: draining`);
    connections.start();
    setTimeout(() => {
      logger.warn(`still draining after ${DRAIN_LIMIT_MS / 1000} s; leaving now`);
      process.exit(0);
    }, DRAIN_LIMIT_MS).unref();
    app.close().then(
      () => {
        logger.log('drained; bye');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error(`drain failed: ${String(error)}`);
        process.exit(0);
      },
    );
  };
  // `on`, not `once`: under `npm start` a Ctrl-C reaches the process twice (from the terminal
  // and forwarded by npm), and a second signal with no listener would kill it mid-drain.
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
}

void main();
