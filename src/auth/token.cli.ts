import 'dotenv/config';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config/app.config';
import { signClientToken } from './client-token';
import { DEFAULT_APP_ID } from './client-user';
import { tokenArgumentProblems } from './token.arguments';

const USAGE = `Usage: npm run token -- [--user <user_id>] [--app <app_id>] [--days <days>]

Prints a client token (JWT) for Swagger UI's Authorize or an Authorization: Bearer header,
signed with JWT_SECRET (environment or .env; the development key by default).

  --user <user_id>  the user (default alice); 1-64 letters, digits, _ . : -
  --app <app_id>    the app (default ${DEFAULT_APP_ID}); the same characters
  --days <days>     lifetime, more than 0 and at most 30 (default 7)
  -h, --help        this text
`;

function readArguments() {
  try {
    return parseArgs({
      options: {
        user: { type: 'string', default: 'alice' },
        app: { type: 'string', default: DEFAULT_APP_ID },
        days: { type: 'string', default: '7' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs explains itself in its first sentence; the rest is a hint about `--`.
    process.stderr.write(`${String((error as Error).message).split('. ')[0]}\n\n${USAGE}`);
    process.exit(2);
  }
}

/** `npm run token -- --user alice [--app default] [--days 7]`: a client JWT for Swagger UI or curl. */
function main(): void {
  const { values } = readArguments();
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const problems = tokenArgumentProblems(values);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(2);
  }
  const days = Number(values.days);
  const config = loadConfigOrExit(process.env);
  const token = signClientToken(config.jwtSecret, {
    appId: values.app,
    userId: values.user,
    expiresAt: Math.floor(Date.now() / 1000) + Math.round(days * 86400),
  });
  process.stdout.write(`${token}\n`);
}

main();
