import { createSecretKey } from 'node:crypto';
import { sign } from 'jsonwebtoken';

/** Keys both servers under test run with (never used outside the benchmark). */
export const BENCH_KEYS = {
  jwtSecret: 'bench-only-jwt-secret-0123456789',
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
