/**
 * Requests at the edges of what the API accepts, each found by trying it or by fuzzing it: a
 * receiver list holding lists, extends keys named like Object.prototype members, a key that
 * would reach a prototype, known paths with a trailing slash, and HEAD of the stream asked to
 * close its connection. Each is answered in the envelope and changes nothing it should not.
 */
import { connect } from 'node:net';
import { anchor, tokenFor } from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';

const PROTOTYPE_NAMES = {
  constructor: 'c',
  toString: 't',
  valueOf: 'v',
  hasOwnProperty: 'h',
  isPrototypeOf: 'i',
  __defineGetter__: 'd',
};

describe('requests at the edges', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RELAY_INVITE_TIMEOUT_S: '0', RELAY_JOIN_TIMEOUT_S: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('recv_rooms holding lists', () => {
    it.each([
      ['[[]]', () => [[]]],
      ['[[{room_id, user_id}]]', (b: { room_id: string; user_id: string }) => [[b]]],
      ['[{room_id, user_id}, []]', (b: { room_id: string; user_id: string }) => [b, []]],
    ])('%s is 400 and claims no room', async (_, recvRooms) => {
      const a = await anchor(t);
      const b = await anchor(t);
      const answer = await t.call('POST', '/client/relay/start', {
        token: a.token,
        body: {
          init_room_id: a.liveId,
          recv_rooms: recvRooms({ room_id: b.liveId, user_id: b.userId }),
        },
      });
      expectError(answer, 400);
      expect(answer.body.message).toMatch(/recv_rooms must be a list of \{room_id, user_id\}/);
      for (const side of [a, b]) {
        const room = expectOk(
          await t.call('GET', `/client/live/room/info/${side.liveId}`, { token: side.token }),
        );
        expect(room.pk_id).toBe('');
      }
    });
  });

  describe('extends keys named like members of Object.prototype', () => {
    it('are stored as given on a room', async () => {
      const token = tokenFor(t, 'proto_room_owner');
      const created = expectOk(
        await t.call('POST', '/client/live/room/instance', {
          token,
          body: { title: 'keys', extends: PROTOTYPE_NAMES },
        }),
      );
      expect(created.extends).toEqual(PROTOTYPE_NAMES);
      const read = expectOk(
        await t.call('GET', `/client/live/room/info/${created.live_id}`, { token }),
      );
      expect(read.extends).toEqual(PROTOTYPE_NAMES);
    });

    it('are stored as given on a relay, set and deleted by a patch', async () => {
      const a = await anchor(t);
      const b = await anchor(t);
      const started = expectOk(
        await t.call('POST', '/client/relay/start', {
          token: a.token,
          body: {
            init_room_id: a.liveId,
            recv_room_id: b.liveId,
            recv_user_id: b.userId,
            extends: { constructor: 'x' },
          },
        }),
      );
      const path = `/client/relay/${started.relay_id}`;
      expect(expectOk(await t.call('GET', path, { token: a.token })).extends).toEqual({
        constructor: 'x',
      });
      const patched = expectOk(
        await t.call('POST', `${path}/extends`, {
          token: b.token,
          body: { extends: { constructor: null, toString: 'y', valueOf: 'z' } },
        }),
      );
      expect(patched.extends).toEqual({ toString: 'y', valueOf: 'z' });
      expect(expectOk(await t.call('GET', path, { token: a.token })).extends).toEqual({
        toString: 'y',
        valueOf: 'z',
      });
    });

    it.each([
      ['__proto__', '{"title":"p","extends":{"__proto__":"x"}}', /__proto__/],
      [
        'constructor.prototype',
        '{"title":"p","extends":{"constructor":{"prototype":{"x":"1"}}}}',
        /constructor\.prototype/,
      ],
    ])('a %s key is 400 saying so, and creates nothing', async (_, body, named) => {
      const token = tokenFor(t, `proto_refused_${Date.now()}`);
      const answer = await t.call('POST', '/client/live/room/instance', { token, body });
      expectError(answer, 400);
      expect(answer.body.message).toMatch(named);
      const [row] = await t.dataSource.query(
        "SELECT COUNT(*) AS n FROM live_room WHERE title = 'p'",
      );
      expect(Number(row.n)).toBe(0);
    });
  });

  it('refuses a body field named constructor like any unknown field (400)', async () => {
    const answer = await t.call('POST', '/client/live/room/instance', {
      token: tokenFor(t, 'proto_field'),
      body: '{"title":"field","constructor":"x"}',
    });
    expectError(answer, 400);
    expect(answer.body.message).toBe('property constructor should not exist');
  });

  describe('a known path with a trailing slash', () => {
    it.each([
      ['GET', '/healthz/'],
      ['GET', '/client/relay/'],
      ['POST', '/client/relay/start/'],
      ['HEAD', '/readyz/'],
    ])('%s %s is 404, never a 405 that allows the method used', async (method, path) => {
      const answer = await t.call(method, path, {
        token: tokenFor(t, 'slash'),
        unchecked: true,
      });
      expect(answer.status).toBe(404);
      expect(answer.headers.get('allow')).toBeNull();
      if (method !== 'HEAD') expectError(answer, 404);
    });
  });

  it('HEAD /client/relay/events with Connection: close answers close and closes', async () => {
    const token = tokenFor(t, 'head_close');
    const port = Number(new URL(t.baseUrl).port);
    const { head, closedByServer } = await new Promise<{ head: string; closedByServer: boolean }>(
      (resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        const timer = setTimeout(() => {
          socket.destroy();
          resolve({ head: received, closedByServer: false });
        }, 5000);
        socket.on('data', (chunk) => (received += chunk.toString('latin1')));
        socket.on('end', () => {
          clearTimeout(timer);
          resolve({ head: received, closedByServer: true });
        });
        socket.on('error', reject);
        socket.write(
          `HEAD /client/relay/events?access_token=${token} HTTP/1.1\r\n` +
            'Host: localhost\r\nConnection: close\r\n\r\n',
        );
      },
    );
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(/\r\ncontent-type: text\/event-stream/i);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect(head).not.toMatch(/keep-alive/i);
    expect(closedByServer).toBe(true);
  });
});
