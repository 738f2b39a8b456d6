import * as qiniu from 'qiniu';

/** The `qiniu` package ships its RTC helpers untyped; these are the signatures we test against. */
export interface QiniuRtcCredentials {
  signJson(access: object): string;
  generateAccessToken(
    options: {
      host: string;
      port?: number;
      path: string;
      method: string;
      headers: Record<string, string>;
    },
    body?: string,
  ): string;
}

interface QiniuRtc {
  Credentials: new (accessKey: string, secretKey: string) => QiniuRtcCredentials;
  room: { getRoomToken(access: object, credentials: QiniuRtcCredentials): string };
}

export const qiniuRtc = qiniu as unknown as QiniuRtc;

/** `util.generateAccessTokenV2`, whose typings wrongly require a content type. */
export function qiniuSignV2(
  accessKey: string,
  secretKey: string,
  url: string,
  method: string,
  contentType?: string,
  body?: string,
  headers?: Record<string, string>,
): string {
  const mac = new qiniu.auth.digest.Mac(accessKey, secretKey);
  return qiniu.util.generateAccessTokenV2(mac, url, method, contentType as string, body, headers);
}

/** The access a Qiniu room token carries (the JSON the SDK's `signJson` signs). */
export interface RoomAccess {
  appId: string;
  roomName: string;
  userId: string;
  expireAt: number;
  permission: string;
}

/** The decoded access of a Qiniu room token (`<ak>:<sign>:<base64url access>`). */
export function decodeRoomAccess(token: string): RoomAccess {
  const encoded = token.slice(token.lastIndexOf(':') + 1);
  return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as RoomAccess;
}
