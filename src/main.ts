import 'reflect-metadata';
import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app.config';
import { createLogger } from './observability/logger';

/** What SIGTERM may take before the process leaves anyway (the contract allows 10 s). */
const DRAIN_LIMIT_MS = 9000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info').fatal({ problems: error.problems }, error.message);
    process.exit(1);
  }
  const app = await createApp(config);
  const logger = new Logger('Bootstrap');
  if (config.devKeysInUse.length > 0) {
    logger.warn(
      `using development keys for ${config.devKeysInUse.join(', ')}: fine on your machine, ` +
        'refused with NODE_ENV=production',
    );
  }
  const db =
    config.database.kind === 'mysql' ? 'MySQL/MariaDB' : `SQLite file ${config.database.file}`;
  await app.listen({ port: config.port, host: '0.0.0.0' });
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
  process.once('SIGTERM', () => drain('SIGTERM'));
  process.once('SIGINT', () => drain('SIGINT'));
}

void main();
