/**
 * The timers of docs/concepts.md, with short real timeouts, fired by the app's own background
 * sweep: each fires, not before it is due, exactly once, as a normal transition (stop_at,
 * stop_reason, rooms released, one event). Exact due times, how late a sweep may be, timers
 * set to 0 and what must not expire are checked on a fake clock in
 * test/medium/relay-timers.medium-spec.ts; here only what needs the running app, waiting for
 * conditions rather than for times, so a loaded machine makes a spec slower, never wrong.
 */
import { relay, RelayFixture, relayEvents, sessionRow, SessionRow } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitUntil } from '../utils/wait';

const TIMEOUT_S = 2;
const HEARTBEAT_S = 3;

/** Waits until the relay has ended. */
async function ended(t: TestApp, relayId: string): Promise<SessionRow> {
  return waitUntil(`relay ${relayId} to end`, async () => {
    const r = await sessionRow(t, relayId);
    return r.status >= 5 && r;
  });
}

async function expectReleased(t: TestApp, r: RelayFixture) {
  for (const side of [r.init, r.recv]) {
    const room = await t.call('GET', `/client/live/room/info/${side.liveId}`, {
      token: side.token,
    });
    expect(room.body.data.pk_id).toBe('');
  }
}

async function expectOneExpiryEvent(t: TestApp, relayId: string, reason: string) {
  const events = (await relayEvents(t, relayId)).filter((e) => e.data.to === 6);
  expect(events).toHaveLength(1);
  expect(events[0].data.reason).toBe(reason);
}

describe('relay timers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      RELAY_INVITE_TIMEOUT_S: String(TIMEOUT_S),
      RELAY_JOIN_TIMEOUT_S: String(TIMEOUT_S),
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('ends an invitation still at 0 after RELAY_INVITE_TIMEOUT_S with invite_timeout', async () => {
    const r = await relay(t, { mode: 'invite' });
    const s = await ended(t, r.relayId);
    expect(s).toMatchObject({ status: 6, stopReason: 'invite_timeout' });
    const late = (s.stopAt as number) - (s.createdAt + TIMEOUT_S * 1000);
    expect(late).toBeGreaterThanOrEqual(0);
    await expectReleased(t, r);
    await expectOneExpiryEvent(t, r.relayId, 'invite_timeout');
    // The receiver who answers too late is told why it is too late.
    const tooLate = await t.call('POST', `/client/relay/${r.relayId}/accept`, {
      token: r.recv.token,
    });
    expect(tooLate.body).toMatchObject({
      code: 601,
      message: 'cannot accept a relay in status 6 (relay ended: invite_timeout)',
    });
    const read = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
    expect(read.body.data).toMatchObject({ status: 6, stop_reason: 'invite_timeout' });
    expect(read.body.data.stop_at).not.toBeNull();
  });

  it.each([
    ['1 (agreed)', [] as ('init' | 'recv')[]],
    ['2 (initiator joined)', ['init'] as ('init' | 'recv')[]],
    ['3 (receiver joined)', ['recv'] as ('init' | 'recv')[]],
  ])('ends a relay stuck at %s after RELAY_JOIN_TIMEOUT_S with join_timeout', async (_, sides) => {
    const r = await relay(t);
    for (const side of sides) {
      await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r[side].token });
    }
    const s = await ended(t, r.relayId);
    expect(s).toMatchObject({ status: 6, stopReason: 'join_timeout' });
    const late = (s.stopAt as number) - ((s.startAt as number) + TIMEOUT_S * 1000);
    expect(late).toBeGreaterThanOrEqual(0);
    await expectReleased(t, r);
    await expectOneExpiryEvent(t, r.relayId, 'join_timeout');
  });

  it('ends a relay duration_s after start_at with duration_elapsed', async () => {
    const r = await relay(t, { duration_s: 10 });
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token });
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.recv.token });
    const s = await ended(t, r.relayId);
    expect(s).toMatchObject({ status: 6, stopReason: 'duration_elapsed' });
    const late = (s.stopAt as number) - ((s.startAt as number) + 10000);
    expect(late).toBeGreaterThanOrEqual(0);
    await expectReleased(t, r);
    await expectOneExpiryEvent(t, r.relayId, 'duration_elapsed');
  });
});

describe('room heartbeats', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      RELAY_INVITE_TIMEOUT_S: '0',
      RELAY_JOIN_TIMEOUT_S: '0',
      ROOM_HEARTBEAT_TIMEOUT_S: String(HEARTBEAT_S),
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('stops a live room without heartbeats for ROOM_HEARTBEAT_TIMEOUT_S and ends its relay with room_offline', async () => {
    const r = await relay(t);
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token });
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.recv.token });
    // Neither anchor sends heartbeats: that the one who does keeps their room is a matter of
    // times, checked on a fake clock in test/medium/relay-timers.medium-spec.ts.
    const s = await ended(t, r.relayId);
    expect(s).toMatchObject({ status: 6, stopReason: 'room_offline' });
    const initRoom = await t.call('GET', `/client/live/room/info/${r.init.liveId}`, {
      token: r.init.token,
    });
    expect(initRoom.body.data.live_status).toBe(2);
    expect(initRoom.body.data.end_time).toBeGreaterThan(0);
    const [room] = await t.dataSource.query(
      'SELECT heartbeat_at AS h, end_at AS e FROM live_room WHERE live_id = ?',
      [r.init.liveId],
    );
    const late = Number(room.e) - (Number(room.h) + HEARTBEAT_S * 1000);
    expect(late).toBeGreaterThanOrEqual(0);
    await expectOneExpiryEvent(t, r.relayId, 'room_offline');
    // The silent anchor's next requests say what happened to its room and its relay.
    const beat = await t.call('GET', `/client/live/room/heartbeat/${r.init.liveId}`, {
      token: r.init.token,
    });
    expect(beat.body.code).toBe(601);
    expect(beat.body.message).toMatch(
      new RegExp(
        `^room ${r.init.liveId} was stopped after \\d+ s without a heartbeat \\(ROOM_HEARTBEAT_TIMEOUT_S is ${HEARTBEAT_S}\\)`,
      ),
    );
    const stop = await t.call('POST', `/client/relay/${r.relayId}/started`, {
      token: r.init.token,
    });
    expect(stop.body.message).toBe(
      'cannot report started for a relay in status 6 (relay ended: room_offline)',
    );
  });
});

describe('a node that was down when timers fell due', () => {
  it('fires them as soon as it starts again', async () => {
    const first = await startTestApp({ RELAY_INVITE_TIMEOUT_S: '1' });
    const r = await relay(first, { mode: 'invite' });
    const { createdAt } = await sessionRow(first, r.relayId);
    await first.stop();
    // The invitation falls due while no node runs.
    await waitUntil('the invitation to fall due', () => Date.now() >= createdAt + 1000);
    const second = await startTestApp({
      RELAY_INVITE_TIMEOUT_S: '1',
      DATABASE_URL: first.databaseUrl,
    });
    try {
      // The first sweep runs at start (test/medium/sweeper.medium-spec.ts).
      await ended(second, r.relayId);
      const read = await second.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
      expect(read.body.data.stop_reason).toBe('invite_timeout');
    } finally {
      await second.close();
      await first.close();
    }
  });
});
