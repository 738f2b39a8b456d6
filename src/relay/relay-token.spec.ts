import { qiniuRtc } from '../../test/utils/qiniu-sdk';
import { signRoomToken } from './relay-token';

describe(signRoomToken.name, () => {
  const keys = { accessKey: 'ak-123', secretKey: 'sk-secret-456', rtcAppId: 'rtc-app' };

  it.each([
    ['room_a', 'alice', 1_800_000_000],
    ['room:with.odd-chars_1', 'user_with_long_id_0123456789', 1_700_000_001],
    ['r', 'u', 4_102_444_800],
  ])('equals the qiniu SDK signJson for room %s, user %s', (roomName, userId, expireAt) => {
    const credentials = new qiniuRtc.Credentials(keys.accessKey, keys.secretKey);
    const access = { appId: keys.rtcAppId, roomName, userId, expireAt, permission: 'user' };
    const sdk = credentials.signJson(access);
    expect(qiniuRtc.room.getRoomToken(access, credentials)).toBe(sdk);
    expect(signRoomToken(keys, roomName, userId, expireAt)).toBe(sdk);
  });

  it('carries the room access as padded URL-safe base64 JSON in the contract key order', () => {
    const token = signRoomToken(keys, 'room_a', 'alice', 1_800_000_000);
    const [ak, , encoded] = token.split(':');
    expect(ak).toBe('ak-123');
    expect(encoded).not.toMatch(/[+/]/);
    const json = Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString();
    expect(json).toBe(
      '{"appId":"rtc-app","roomName":"room_a","userId":"alice","expireAt":1800000000,"permission":"user"}',
    );
  });
});
