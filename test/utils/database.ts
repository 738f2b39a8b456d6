import { DataSource, MigrationInterface } from 'typeorm';
import { dataSourceOptions, MIGRATIONS } from '../../src/app.schema';
import { loadConfig } from '../../src/config/app.config';

/**
 * The database at `databaseUrl` as the app and the CLI read it, with the given migrations and
 * none run on opening: for specs that build an older schema and migrate it themselves.
 */
export async function openDatabase(
  databaseUrl: string,
  migrations: (new () => MigrationInterface)[] = MIGRATIONS,
): Promise<DataSource> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, DB_MIGRATE: 'false' });
  return new DataSource({ ...(await dataSourceOptions(config)), migrations }).initialize();
}

/** Opens the database as openDatabase does, hands it to `use`, and closes it after. */
export async function withDatabase<T>(
  databaseUrl: string,
  migrations: (new () => MigrationInterface)[],
  use: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = await openDatabase(databaseUrl, migrations);
  try {
    return await use(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * What `schema:log` computes: the statements TypeORM would run to make the database match the
 * entities.
 */
export function schemaChanges(databaseUrl: string): Promise<string[]> {
  return withDatabase(databaseUrl, MIGRATIONS, async (dataSource) => {
    const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
    return upQueries.map((q) => q.query);
  });
}
