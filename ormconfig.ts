import 'reflect-metadata';
import 'dotenv/config';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app.config';
import { dataSourceOptions } from './src/app.schema';

/** For the TypeORM CLI: `npm run typeorm -- migration:run` (or migration:show, schema:log). */
export default dataSourceOptions(loadConfig(process.env)).then(
  (options) => new DataSource({ ...options, migrationsRun: false }),
);
