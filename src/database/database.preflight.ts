import { createConnection } from 'mysql2/promise';
import { AppConfig } from '../config/app.config';

/**
 * The first-day mistakes with a MySQL/MariaDB URL, as one line that says what to do: otherwise
 * the first thing an operator reads is the driver's stack trace, logged twice. Any other
 * error is left to the start that follows, which reports it as before.
 */
export function connectProblem(code: string | undefined, databaseUrl: string): string | null {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const where = `${url.hostname}:${url.port || '3306'}`;
  switch (code) {
    case 'ER_BAD_DB_ERROR':
      return (
        `database "${database}" does not exist on ${where}: create it ` +
        `(CREATE DATABASE ${database} CHARACTER SET utf8mb4) or fix DATABASE_URL`
      );
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return `${where} refused the user or password of DATABASE_URL for database "${database}"`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
      return `no MySQL/MariaDB server answers at ${where}: start it or fix DATABASE_URL`;
    default:
      return null;
  }
}

/** One short connection before the app starts: null when it worked or failed some other way. */
export async function databasePreflight(config: AppConfig): Promise<string | null> {
  if (config.database.kind !== 'mysql') return null;
  const uri = config.database.url.replace(/^mariadb:/, 'mysql:');
  try {
    const connection = await createConnection({ uri, connectTimeout: 10_000 });
    await connection.end();
    return null;
  } catch (error) {
    return connectProblem((error as { code?: string }).code, config.database.url);
  }
}
