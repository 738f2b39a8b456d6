/**
 * The largest relay the API allows, nine rooms, with identifiers of the longest length the API
 * accepts (64 characters, for anchors and for rooms, as rooms made elsewhere and imported may
 * have): every room's state is kept on the relay's row, and the longest states (left, with a
 * reason and a time) must still fit there, so that the relay can end and free its rooms.
 */
import { Anchor, anchor, uniqueUser } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitUntil } from '../utils/wait';

const ROOMS = 9;

/** A unique identifier of exactly 64 characters. */
const longest = (prefix: string) => `${uniqueUser(prefix)}_`.padEnd(64, 'x');

/** An anchor with a 64-character user id whose room, renamed to a 64-character id, is live. */
async function longAnchor(t: TestApp): Promise<Anchor> {
  const a = await anchor(t, { userId: longest('anchor'), live: false });
  const liveId = longest('room');
  await t.dataSource.query('UPDATE live_room SET live_id = ? WHERE live_id = ?', [
    liveId,
    a.liveId,
  ]);
  const live = await t.call('PUT', `/client/live/room/${liveId}`, { token: a.token });
  if (live.status !== 200) throw new Error(`room start failed: ${live.text}`);
  return { ...a, liveId };
}

describe('a relay of nine rooms with the longest identifiers', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      RELAY_INVITE_TIMEOUT_S: '0',
      RELAY_JOIN_TIMEOUT_S: '1',
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
      TIMER_INTERVAL_MS: '100',
    });
  });
  afterAll(() => t.close());

  it('ends join_timeout with every room left, and frees every room', async () => {
    const anchors: Anchor[] = [];
    for (let i = 0; i < ROOMS; i++) anchors.push(await longAnchor(t));
    const [init, ...recvs] = anchors;
    const started = await t.call('POST', '/client/relay/start', {
      token: init.token,
      body: {
        init_room_id: init.liveId,
        recv_rooms: recvs.map((r) => ({ room_id: r.liveId, user_id: r.userId })),
        mode: 'auto',
      },
    });
    expect(started.status).toBe(200);
    const relayId: string = started.body.data.relay_id;

    // Nobody joins: after a second every room leaves join_timeout, which ends the relay.
    const session = await waitUntil('the relay to end', async () => {
      const read = await t.call('GET', `/client/relay/${relayId}`, { token: init.token });
      return read.body.data.status === 6 && read.body.data;
    });
    expect(session).toMatchObject({ status: 6, stop_reason: 'join_timeout' });
    expect(session.rooms).toEqual(
      anchors.map((a) =>
        expect.objectContaining({
          room_id: a.liveId,
          user_id: a.userId,
          state: 'left',
          reason: 'join_timeout',
        }),
      ),
    );
    for (const a of anchors) {
      const room = await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token });
      expect(room.body.data).toMatchObject({ live_id: a.liveId, pk_id: '' });
    }
  });
});
