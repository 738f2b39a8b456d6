import { createSecretKey, KeyObject } from 'node:crypto';
import { sign } from 'jsonwebtoken';

export interface ClientTokenClaims {
  appId: string;
  userId: string;
  deviceId?: string;
  /** Unix seconds. */
  expiresAt: number;
}

/** Issues a client JWT with the claims the original server put in its tokens. */
export function signClientToken(secret: string | KeyObject, claims: ClientTokenClaims): string {
  const key = typeof secret === 'string' ? createSecretKey(Buffer.from(secret)) : secret;
  return sign(
    {
      AppId: claims.appId,
      UserId: claims.userId,
      DeviceId: claims.deviceId ?? '',
      exp: claims.expiresAt,
    },
    key,
    { algorithm: 'HS256', noTimestamp: false },
  );
}
