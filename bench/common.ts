import { createHmac, createSecretKey } from 'node:crypto';
import { sign } from 'jsonwebtoken';

/** Keys both servers under test run with (never used outside the benchmark). */
export const BENCH_KEYS = {
  jwtSecret: 'bench-only-jwt-secret-0123456789',
  serverAccessKey: 'bench-server-access-key',
  serverSecretKey: 'bench-server-secret-key',
  qiniuAccessKey: 'bench-qiniu-access-key',
  qiniuSecretKey: 'bench-qiniu-secret-key',
  rtcAppId: 'bench-rtc-app',
};

const key = createSecretKey(Buffer.from(BENCH_KEYS.jwtSecret));

/** A client token as the service issues them, valid for a day. */
export function clientToken(userId: string, appId = 'default'): string {
  return sign(
    { AppId: appId, UserId: userId, DeviceId: '', exp: Math.floor(Date.now() / 1000) + 86400 },
    key,
    { algorithm: 'HS256' },
  );
}

/**
 * The Qiniu MAC of a JSON request without X-Qiniu-* headers (the bench sends none), as
 * docs/api.md defines it: URL-safe base64 of HMAC-SHA1 over method and path, Host,
 * Content-Type and body. The ceiling verifies with the same function.
 */
export function qiniuSign(method: string, url: string, host: string, body: string): string {
  const text = `${method} ${url}\nHost: ${host}\nContent-Type: application/json\n\n${body}`;
  return createHmac('sha1', BENCH_KEYS.serverSecretKey)
    .update(text)
    .digest('base64')
    .replace(/\//g, '_')
    .replace(/\+/g, '-');
}

/** The Authorization header of a server API request. */
export function qiniuAuthorization(method: string, url: string, host: string, body: string) {
  return `Qiniu ${BENCH_KEYS.serverAccessKey}:${qiniuSign(method, url, host, body)}`;
}
