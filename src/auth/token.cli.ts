import 'dotenv/config';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/app.config';
import { signClientToken } from './client-token';
import { DEFAULT_APP_ID } from './client-user';

/** `npm run token -- --user alice [--app default] [--days 7]`: a client JWT for Swagger UI or curl. */
function main(): void {
  const { values } = parseArgs({
    options: {
      user: { type: 'string', default: 'alice' },
      app: { type: 'string', default: DEFAULT_APP_ID },
      days: { type: 'string', default: '7' },
    },
  });
  const days = Number(values.days);
  if (!Number.isFinite(days) || days <= 0 || days > 30) {
    process.stderr.write('--days must be a number of days, more than 0 and at most 30\n');
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const token = signClientToken(config.jwtSecret, {
    appId: values.app,
    userId: values.user,
    expiresAt: Math.floor(Date.now() / 1000) + Math.round(days * 86400),
  });
  process.stdout.write(`${token}\n`);
}

main();
