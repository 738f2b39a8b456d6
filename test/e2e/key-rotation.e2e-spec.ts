/**
 * Key rotation without downtime (docs/operations.md, "Rotating keys"): a node configured with new
 * keys and the previous ones accepts both, issues and signs with the new ones only, and signs
 * webhooks with both secrets so receivers can switch at their own pace.
 */
import { runInNewContext } from 'node:vm';
import { decode, sign, verify } from 'jsonwebtoken';
import { signClientToken } from '../../src/auth/client-token';
import { relay, relayEvents, uniqueUser } from '../factories';
import { codeBlocks, readRepoFile, section } from '../utils/markdown';
import { qiniuSignV2 } from '../utils/qiniu-sdk';
import { expectError, expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';
import { startWebhookReceiver, verifySignature, WebhookReceiver } from '../utils/webhook-receiver';

const JWT_NEW = 'jwt-secret-of-this-quarter-4d1c';
const JWT_OLD = ['jwt-secret-of-last-quarter-9a2e', 'jwt-secret-of-the-one-before-77b0'];
const SERVER_NEW: [string, string] = ['ak-2026-q4', 'server-secret-2026-q4'];
/** An older access key, and the current access key with its previous secret key. */
const SERVER_OLD: [string, string][] = [
  ['ak-2026-q3', 'server-secret-2026-q3'],
  ['ak-2026-q4', 'server-secret-2026-q4-first'],
];
const WEBHOOK_NEW = 'webhook-secret-new-5e8f';
const WEBHOOK_OLD = 'webhook-secret-old-0c3d';

const nowS = () => Math.floor(Date.now() / 1000);

function clientToken(secret: string, expiresAt = nowS() + 600): string {
  return signClientToken(secret, { appId: 'default', userId: uniqueUser(), expiresAt });
}

describe('key rotation', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await startTestApp({
      JWT_SECRET: JWT_NEW,
      JWT_PREVIOUS_SECRETS: JWT_OLD.join(','),
      SERVER_ACCESS_KEY: SERVER_NEW[0],
      SERVER_SECRET_KEY: SERVER_NEW[1],
      SERVER_PREVIOUS_KEYS: SERVER_OLD.map((pair) => pair.join(':')).join(','),
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: WEBHOOK_NEW,
      WEBHOOK_PREVIOUS_SECRET: WEBHOOK_OLD,
      RELAY_INVITE_TIMEOUT_S: '0',
      RELAY_JOIN_TIMEOUT_S: '0',
      TIMER_INTERVAL_MS: '100',
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const createRoom = (token: string) =>
    t.call('POST', '/client/live/room/instance', { token, body: { title: 'rotation' } });

  const signed = (keys: [string, string], path: string): Promise<HttpAnswer> =>
    t.call('GET', path, {
      headers: { authorization: qiniuSignV2(keys[0], keys[1], t.baseUrl + path, 'GET') },
    });

  describe('JWT_PREVIOUS_SECRETS', () => {
    it('accepts client tokens of JWT_SECRET and of every previous secret', async () => {
      for (const secret of [JWT_NEW, ...JWT_OLD]) expectOk(await createRoom(clientToken(secret)));
    });

    it('refuses a token of a secret that is neither', async () => {
      expectError(await createRoom(clientToken('jwt-secret-never-configured')), 401, 401);
    });

    it('still answers 499 to an expired token of a previous secret', async () => {
      expectError(await createRoom(clientToken(JWT_OLD[1], nowS() - 60)), 401, 499);
    });

    it('refuses a token of a previous secret with a crit header', async () => {
      const jwt = sign({ UserId: uniqueUser(), exp: nowS() + 600 }, JWT_OLD[0], {
        algorithm: 'HS256',
        header: { alg: 'HS256', typ: 'JWT', crit: ['exp'] },
      });
      expectError(await createRoom(`Bearer ${jwt}`), 401, 401);
    });

    it('issues tokens signed with JWT_SECRET only', async () => {
      const user = uniqueUser();
      const issued = expectOk(await signed(SERVER_NEW, `/server/auth/token?user_id=${user}`));
      const token: string = issued.access_token;
      expect((decode(token) as { UserId: string }).UserId).toBe(user);
      expect(() => verify(token, JWT_NEW, { algorithms: ['HS256'] })).not.toThrow();
      for (const old of JWT_OLD) {
        expect(() => verify(token, old, { algorithms: ['HS256'] })).toThrow(/signature/);
      }
    });
  });

  describe('SERVER_PREVIOUS_KEYS', () => {
    it('accepts requests signed with the current pair and with every previous pair', async () => {
      for (const keys of [SERVER_NEW, ...SERVER_OLD]) {
        expectOk(await signed(keys, `/server/auth/token?user_id=${uniqueUser()}`));
      }
    });

    it('refuses an access key with the secret key of another pair', async () => {
      const mixed: [string, string] = [SERVER_OLD[0][0], SERVER_NEW[1]];
      expectError(await signed(mixed, `/server/auth/token?user_id=${uniqueUser()}`), 401, 401);
    });
  });

  describe('WEBHOOK_PREVIOUS_SECRET', () => {
    let requests: { headers: Record<string, string | string[] | undefined>; body: string }[];
    beforeAll(async () => {
      const r = await relay(t);
      const [created] = await relayEvents(t, r.relayId);
      await receiver.waitUntil(() => receiver.forEvent(created.id).length > 0);
      requests = receiver.forEvent(created.id);
    });

    it('signs each POST with both secrets: sha256=<new>,sha256=<old>', () => {
      const [{ headers, body }] = requests;
      expect(headers['x-relay-signature']).toMatch(/^sha256=[0-9a-f]{64},sha256=[0-9a-f]{64}$/);
      expect(verifySignature(WEBHOOK_NEW, headers, body)).toBe(true);
      expect(verifySignature(WEBHOOK_OLD, headers, body)).toBe(true);
      expect(verifySignature('webhook-secret-other', headers, body)).toBe(false);
      const [first, second] = String(headers['x-relay-signature']).split(',');
      expect(verifySignature(WEBHOOK_NEW, { ...headers, 'x-relay-signature': first }, body)).toBe(
        true,
      );
      expect(verifySignature(WEBHOOK_OLD, { ...headers, 'x-relay-signature': second }, body)).toBe(
        true,
      );
    });

    it("passes the receiver's check of docs/events.md with either secret", () => {
      const [code] = codeBlocks(section(readRepoFile('docs/events.md'), 'Webhooks'), 'js');
      // The globals a Node.js receiver has, which a bare context lacks.
      const context: { require: NodeRequire; Buffer: typeof Buffer; verify?: unknown } = {
        require,
        Buffer,
      };
      runInNewContext(`${code}\nthis.verify = verify;`, context);
      const docsVerify = context.verify as (
        secret: string,
        headers: unknown,
        rawBody: string,
      ) => boolean;
      const [{ headers, body }] = requests;
      expect(docsVerify(WEBHOOK_NEW, headers, body)).toBe(true);
      expect(docsVerify(WEBHOOK_OLD, headers, body)).toBe(true);
      expect(docsVerify('webhook-secret-other', headers, body)).toBe(false);
      expect(docsVerify(WEBHOOK_NEW, headers, `${body} `)).toBe(false);
    });
  });
});
