import 'reflect-metadata';
import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app.config';

async function main(): Promise<void> {
  const logger = new Logger('Bootstrap');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.error(error.message);
    process.exit(1);
  }
  if (config.devKeysInUse.length > 0) {
    logger.warn(
      `using development keys for ${config.devKeysInUse.join(', ')}: fine on your machine, ` +
        'refused with NODE_ENV=production',
    );
  }
  const db =
    config.database.kind === 'mysql' ? 'MySQL/MariaDB' : `SQLite file ${config.database.file}`;
  const app = await createApp(config);
  await app.listen({ port: config.port, host: '0.0.0.0' });
  logger.log(`listening on port ${config.port} with ${db}; Swagger UI at /docs`);
}

void main();
