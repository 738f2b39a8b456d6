/**
 * The timers of docs/concepts.md, with short real timeouts: each fires within its
 * allowance (2 s for relay timers, 5 s for room heartbeats), exactly once, as a normal
 * transition (stop_at, stop_reason, rooms released, one event).
 */
import { anchor, relay, RelayFixture, relayEvents, sessionRow, SessionRow } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';

const TIMEOUT_S = 2;
const HEARTBEAT_S = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the relay has ended, or gives up after `withinMs`. */
async function ended(t: TestApp, relayId: string, withinMs: number): Promise<SessionRow> {
  const until = Date.now() + withinMs;
  for (;;) {
    const r = await sessionRow(t, relayId);
    if (r.status >= 5 || Date.now() > until) return r;
    await sleep(100);
  }
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
    const s = await ended(t, r.relayId, TIMEOUT_S * 1000 + 4000);
    expect(s).toMatchObject({ status: 6, stopReason: 'invite_timeout' });
    const late = (s.stopAt as number) - (s.createdAt + TIMEOUT_S * 1000);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2000);
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
    const s = await ended(t, r.relayId, TIMEOUT_S * 1000 + 4000);
    expect(s).toMatchObject({ status: 6, stopReason: 'join_timeout' });
    const late = (s.stopAt as number) - ((s.startAt as number) + TIMEOUT_S * 1000);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2000);
    await expectReleased(t, r);
    await expectOneExpiryEvent(t, r.relayId, 'join_timeout');
  });

  it('counts the join timeout from the accept of an invitation', async () => {
    const r = await relay(t, { mode: 'invite' });
    await sleep(1000);
    await t.call('POST', `/client/relay/${r.relayId}/accept`, { token: r.recv.token });
    const s = await ended(t, r.relayId, TIMEOUT_S * 1000 + 4000);
    expect(s.stopReason).toBe('join_timeout');
    expect((s.stopAt as number) - (s.startAt as number)).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
  });

  it('leaves a relay that reached 4 alone once the join timeout has passed', async () => {
    const r = await relay(t);
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token });
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.recv.token });
    await sleep(TIMEOUT_S * 1000 + 1500);
    expect((await sessionRow(t, r.relayId)).status).toBe(4);
    await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: r.init.token });
  });

  it('ends a relay duration_s after start_at with duration_elapsed', async () => {
    const r = await relay(t, { duration_s: 10 });
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token });
    await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.recv.token });
    const s = await ended(t, r.relayId, 14000);
    expect(s).toMatchObject({ status: 6, stopReason: 'duration_elapsed' });
    const late = (s.stopAt as number) - ((s.startAt as number) + 10000);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2000);
    await expectReleased(t, r);
    await expectOneExpiryEvent(t, r.relayId, 'duration_elapsed');
  }, 20000);
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
    // Only the receiver keeps its room alive.
    const beat = setInterval(() => {
      void t.call('GET', `/client/live/room/heartbeat/${r.recv.liveId}`, { token: r.recv.token });
    }, 500);
    try {
      const s = await ended(t, r.relayId, HEARTBEAT_S * 1000 + 6000);
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
      expect(late).toBeLessThan(5000);
      const recvRoom = await t.call('GET', `/client/live/room/info/${r.recv.liveId}`, {
        token: r.recv.token,
      });
      expect(recvRoom.body.data).toMatchObject({ live_status: 1, pk_id: '' });
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
    } finally {
      clearInterval(beat);
    }
  }, 20000);

  it('keeps a room live while its anchor sends heartbeats', async () => {
    const a = await anchor(t);
    for (let i = 0; i < 5; i++) {
      await sleep(1000);
      expect(
        (await t.call('GET', `/client/live/room/heartbeat/${a.liveId}`, { token: a.token })).status,
      ).toBe(200);
    }
    const room = await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token });
    expect(room.body.data.live_status).toBe(1);
  }, 15000);
});

describe('timers set to 0', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      RELAY_INVITE_TIMEOUT_S: '0',
      RELAY_JOIN_TIMEOUT_S: '0',
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('never expire invitations, joins or silent rooms', async () => {
    const invited = await relay(t, { mode: 'invite' });
    const agreed = await relay(t);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const [r, status] of [
      [invited, 0],
      [agreed, 1],
    ] as const) {
      const read = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
      expect(read.body.data.status).toBe(status);
      const room = await t.call('GET', `/client/live/room/info/${r.init.liveId}`, {
        token: r.init.token,
      });
      expect(room.body.data.live_status).toBe(1);
    }
  });
});

describe('a node that was down when timers fell due', () => {
  it('fires them as soon as it starts again', async () => {
    const first = await startTestApp({ RELAY_INVITE_TIMEOUT_S: '1' });
    const r = await relay(first, { mode: 'invite' });
    await first.stop();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const second = await startTestApp({
      RELAY_INVITE_TIMEOUT_S: '1',
      DATABASE_URL: first.databaseUrl,
    });
    try {
      const started = Date.now();
      let status = 0;
      while (status !== 6 && Date.now() - started < 3000) {
        const read = await second.call('GET', `/client/relay/${r.relayId}`, {
          token: r.init.token,
        });
        status = read.body.data.status;
        if (status !== 6) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe(6);
      expect(Date.now() - started).toBeLessThan(2000);
      const read = await second.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
      expect(read.body.data.stop_reason).toBe('invite_timeout');
    } finally {
      await second.close();
      await first.close();
    }
  });
});
