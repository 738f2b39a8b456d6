import 'dotenv/config';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config/app.config';
import { hmacSha1UrlSafe, qiniuSigningString, SignedRequest } from './qiniu-mac';

const USAGE = `Usage: npm run server -- <METHOD> <PATH> [<JSON body>] [--url <base URL>]

Calls the running service as your backend would: the request is signed with Qiniu's MAC and
SERVER_ACCESS_KEY / SERVER_SECRET_KEY (environment or .env; the development keys by default).
Prints the answer's body; exits 0 on a 2xx answer, 1 otherwise (the status on stderr), 2 on a
usage error.

  --url <base URL>  the service (default http://localhost:<PORT>, PORT as configured, 8080)
  -h, --help        this text

Examples:
  npm run server -- GET /server/relay/<relay_id>
  npm run server -- POST /server/relay/<relay_id>/stop
  npm run server -- POST /server/relay/<relay_id>/score '{"room_id":"<room_id>","delta":5}'
  npm run server -- GET '/server/auth/token?user_id=alice'
`;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

function usageError(problem: string): never {
  process.stderr.write(`${problem}\n\n${USAGE}`);
  process.exit(2);
}

function readArguments() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs explains itself in its first sentence; the rest is a hint about `--`.
    usageError(String((error as Error).message).split('. ')[0]);
  }
}

/** The service's origin: the signature covers the path the service receives, so no prefix. */
function baseUrl(given: string | undefined, port: number): URL {
  if (given === undefined) return new URL(`http://localhost:${port}`);
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    usageError(`--url: "${given}" is not a URL`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '') {
    usageError(`--url: "${given}" must be an http(s) origin such as http://localhost:8080`);
  }
  return url;
}

async function main(): Promise<number> {
  const { values, positionals } = readArguments();
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length < 2) usageError('give a METHOD and a PATH');
  if (positionals.length > 3) usageError('too many arguments: METHOD, PATH and one JSON body');
  const [given, path, body] = positionals;
  const method = given.toUpperCase();
  if (!METHODS.includes(method)) usageError(`METHOD must be one of ${METHODS.join(', ')}`);
  if (!path.startsWith('/')) usageError(`PATH must start with / (got "${path}")`);
  if (body !== undefined) {
    if (method === 'GET') usageError('a GET request has no body');
    try {
      JSON.parse(body);
    } catch {
      usageError(`the body is not JSON: ${body}`);
    }
  }

  const config = loadConfigOrExit(process.env);
  // Concatenated rather than resolved, so a PATH such as //x stays a path on this origin.
  const target = new URL(`${baseUrl(values.url, config.port).origin}${path}`);
  const contentType = body === undefined ? undefined : 'application/json';
  const signed: SignedRequest = {
    method,
    url: `${target.pathname}${target.search}`,
    host: target.host,
    contentType,
    headers: {},
    body: body ?? '',
  };
  const sign = hmacSha1UrlSafe(
    config.serverSecretKey,
    qiniuSigningString(signed, signed.host, contentType),
  );
  const headers: Record<string, string> = {
    authorization: `Qiniu ${config.serverAccessKey}:${sign}`,
  };
  if (contentType !== undefined) headers['content-type'] = contentType;

  let response: Response;
  try {
    response = await fetch(target, { method, headers, body });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    process.stderr.write(
      `cannot reach ${target.origin} (${cause?.code ?? cause?.message ?? String(error)}): ` +
        'is the service running (npm start)? Another address: --url\n',
    );
    return 1;
  }
  const text = await response.text();
  let printed = text;
  try {
    printed = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON (a proxy's error page, say): printed as it came.
  }
  if (printed.length > 0) process.stdout.write(`${printed}\n`);
  if (response.ok) return 0;
  process.stderr.write(`HTTP ${response.status} ${response.statusText}\n`);
  return 1;
}

void main().then((code) => {
  process.exitCode = code;
});
