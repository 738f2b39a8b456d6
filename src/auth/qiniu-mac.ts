import { createHmac, timingSafeEqual } from 'node:crypto';

export const urlSafe = (base64: string) => base64.replace(/\//g, '_').replace(/\+/g, '-');

export function hmacSha1UrlSafe(secret: string, data: string): string {
  return urlSafe(createHmac('sha1', secret).update(data).digest('base64'));
}

export interface SignedRequest {
  method: string;
  /** Path and raw query exactly as received. */
  url: string;
  host: string;
  contentType: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** `X-Qiniu-date` -> `X-Qiniu-Date`, as Go's and Qiniu's canonical header keys. */
function canonicalHeaderName(name: string): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())
    .join('-');
}

/** The signing string of docs/api.md, "Authentication" for one Host and Content-Type line. */
export function qiniuSigningString(
  request: SignedRequest,
  host: string,
  contentType: string | undefined,
): string {
  return signingString(request, host, contentType, qiniuHeaderLines(request));
}

/** The request's `X-Qiniu-*` headers as signed: canonical names, sorted, one line each. */
function qiniuHeaderLines(request: SignedRequest): string {
  const lines = Object.keys(request.headers)
    .map((name) => [canonicalHeaderName(name), request.headers[name]] as const)
    .filter(([name]) => name.startsWith('X-Qiniu-') && name.length > 'X-Qiniu-'.length)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(',') : (value ?? '')}`);
  return lines.length > 0 ? `\n${lines.join('\n')}` : '';
}

function signingString(
  request: SignedRequest,
  host: string,
  contentType: string | undefined,
  headerLines: string,
): string {
  let text = `${request.method.toUpperCase()} ${request.url}\nHost: ${host}`;
  if (contentType) text += `\nContent-Type: ${contentType}`;
  text += `${headerLines}\n\n`;
  if (contentType && contentType !== 'application/octet-stream') text += request.body;
  return text;
}

/**
 * The signing strings a genuine signer may have used, the contract's form first. Besides it, the
 * `qiniu` npm SDK's `util.generateAccessTokenV2` writes the port twice when the URL has one
 * ("Host: h:8080:8080") and signs a default `application/x-www-form-urlencoded` when the
 * request carries no Content-Type; requests it signs must verify, so both variants count. Made
 * one at a time, so that a request signed in the contract's form costs one string and one HMAC.
 */
export function* qiniuCandidateStrings(request: SignedRequest): Generator<string> {
  const headerLines = qiniuHeaderLines(request);
  const hosts = [request.host];
  const port = /:(\d+)$/.exec(request.host)?.[1];
  if (port !== undefined) hosts.push(`${request.host}:${port}`);
  const contentTypes = request.contentType
    ? [request.contentType]
    : [undefined, 'application/x-www-form-urlencoded'];
  for (const host of hosts) {
    for (const contentType of contentTypes) {
      yield signingString(request, host, contentType, headerLines);
    }
  }
}

/**
 * The requests a signature may have been made over: the one received, and, when it came through
 * a trusted proxy, the one its caller sent (the path under the gateway's prefix, the Host the
 * caller used), which is the URL a backend signs when it calls the service through its gateway.
 */
export function signedViews(
  received: SignedRequest,
  caller: { proxied: boolean; host: string | null; prefix: string },
): SignedRequest[] {
  if (!caller.proxied) return [received];
  const sent = { ...received, url: caller.prefix + received.url, host: caller.host ?? '' };
  return sent.url === received.url && sent.host === received.host ? [received] : [received, sent];
}

/** Verifies `Authorization: Qiniu <AccessKey>:<sign>` in constant time per candidate. */
export function verifyQiniuMac(
  authorization: string | undefined,
  request: SignedRequest,
  accessKey: string,
  secretKey: string,
): boolean {
  const match = /^Qiniu ([^:\s]+):([A-Za-z0-9_=-]+)$/.exec(authorization ?? '');
  if (!match || match[1] !== accessKey) return false;
  const given = Buffer.from(match[2]);
  for (const text of qiniuCandidateStrings(request)) {
    const expected = Buffer.from(hmacSha1UrlSafe(secretKey, text));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return true;
  }
  return false;
}

/** How far `X-Qiniu-Date` may be from the server's clock, either way. */
const QINIU_DATE_TOLERANCE_MS = 15 * 60 * 1000;

/**
 * What is wrong with a request's `X-Qiniu-Date`, or null when nothing is. One that carries it
 * (`YYYYMMDDTHHmmssZ`, signed with the rest) must be within 15 minutes of `nowMs`, so a captured
 * signature stops working soon. One without it passes, because the SDK's generateAccessTokenV2
 * does not always send it. An unreadable date cannot be shown fresh, and is told the format,
 * since the usual cause is an ISO date with dashes and colons rather than a replay.
 */
export function qiniuDateProblem(
  headers: Record<string, string | string[] | undefined>,
  nowMs: number,
): string | null {
  const value = headers['x-qiniu-date'];
  if (value === undefined) return null;
  const text = String(value);
  const malformed = `X-Qiniu-Date must be YYYYMMDDTHHmmssZ in UTC, like 20261130T120000Z (got "${text.slice(0, 40)}")`;
  const parts = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (parts === null) return malformed;
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number);
  const signedAt = Date.UTC(year, month - 1, day, hour, minute, second);
  const roundTrip = new Date(signedAt);
  if (roundTrip.getUTCDate() !== day || roundTrip.getUTCMonth() !== month - 1) return malformed;
  if (hour > 23 || minute > 59 || second > 59) return malformed;
  if (Math.abs(nowMs - signedAt) <= QINIU_DATE_TOLERANCE_MS) return null;
  return "X-Qiniu-Date is more than 15 minutes from the server's clock";
}
