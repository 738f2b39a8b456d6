import { createHmac } from 'node:crypto';

export interface RoomTokenKeys {
  accessKey: string;
  secretKey: string;
  rtcAppId: string;
}

const urlSafeBase64 = (data: Buffer | string) =>
  Buffer.from(data).toString('base64').replace(/\//g, '_').replace(/\+/g, '-');

/**
 * A Qiniu RTC room token, byte for byte what the `qiniu` SDK's `Credentials.signJson` makes:
 * the key order of the JSON and the padded URL-safe base64 are part of the format.
 */
export function signRoomToken(
  keys: RoomTokenKeys,
  roomName: string,
  userId: string,
  expireAt: number,
): string {
  const access = JSON.stringify({
    appId: keys.rtcAppId,
    roomName,
    userId,
    expireAt,
    permission: 'user',
  });
  const encoded = urlSafeBase64(access);
  const signature = urlSafeBase64(createHmac('sha1', keys.secretKey).update(encoded).digest());
  return `${keys.accessKey}:${signature}:${encoded}`;
}
