/**
 * docs/concepts.md, "Timers": each relay timer fires at exactly its due time, not a millisecond
 * before, once however often the sweep runs, as a normal transition (stop_at, stop_reason,
 * rooms released, one event). The e2e tier only checks that the background sweep fires them;
 * how late it may be is a matter of TIMER_INTERVAL_MS, not of these rules.
 */
import { LiveRoomService } from '../../src/live-room/live-room.service';
import { RelayService } from '../../src/relay/relay.service';
import { relayEvents, sessionRow } from '../factories';
import { joinAll, serviceRelay, ServiceRelay } from '../factories/service';
import { MediumApp, startMediumApp } from '../utils/medium-app';

const INVITE_MS = 30_000;
const JOIN_MS = 60_000;
const HEARTBEAT_MS = 45_000;

describe('relay timers, at due times set by the fake clock', () => {
  let app: MediumApp;
  let relays: RelayService;
  let rooms: LiveRoomService;

  beforeAll(async () => {
    app = await startMediumApp({
      RELAY_INVITE_TIMEOUT_S: String(INVITE_MS / 1000),
      RELAY_JOIN_TIMEOUT_S: String(JOIN_MS / 1000),
      ROOM_HEARTBEAT_TIMEOUT_S: String(HEARTBEAT_MS / 1000),
    });
    relays = app.get(RelayService);
    rooms = app.get(LiveRoomService);
  });
  afterAll(() => app.close());

  /** Several sweeps at once and one more: a timer that fired twice would show in the log. */
  async function sweepAt(at: number): Promise<void> {
    app.clock.set(at);
    await Promise.all([relays.expireDue(200), relays.expireDue(200), relays.expireDue(200)]);
    await relays.expireDue(200);
  }

  /** Sweeps a millisecond before `due` (the relay keeps `status`), then at `due`. */
  async function firesAt(r: ServiceRelay, due: number, status: number): Promise<void> {
    await sweepAt(due - 1);
    expect((await sessionRow(app, r.relayId)).status).toBe(status);
    await sweepAt(due);
  }

  /** The relay ended at `due` for `reason`, with one event saying so, and freed its rooms. */
  async function expectEnded(r: ServiceRelay, due: number, reason: string): Promise<void> {
    expect(await sessionRow(app, r.relayId)).toMatchObject({
      status: 6,
      stopReason: reason,
      stopAt: due,
    });
    const expiries = (await relayEvents(app, r.relayId)).filter((e) => e.data.to === 6);
    expect(expiries.map((e) => [e.data.reason, e.occurred_at])).toEqual([[reason, due]]);
    for (const who of [r.init, ...r.recvs]) {
      expect((await rooms.info(who.user, who.liveId)).pk_id).toBe('');
    }
  }

  it('ends an invitation still at 0 after RELAY_INVITE_TIMEOUT_S with invite_timeout', async () => {
    const t0 = app.clock.begin();
    const r = await serviceRelay(app, { mode: 'invite' });
    await firesAt(r, t0 + INVITE_MS, 0);
    await expectEnded(r, t0 + INVITE_MS, 'invite_timeout');
  });

  it.each([
    ['1 (agreed)', [] as ('init' | 'recv')[], 1],
    ['2 (initiator joined)', ['init'] as ('init' | 'recv')[], 2],
    ['3 (receiver joined)', ['recv'] as ('init' | 'recv')[], 3],
  ])(
    'ends a relay stuck at %s after RELAY_JOIN_TIMEOUT_S with join_timeout',
    async (_, sides, status) => {
      const t0 = app.clock.begin();
      const r = await serviceRelay(app);
      for (const side of sides) {
        app.clock.advance(1000);
        const who = side === 'init' ? r.init : r.recvs[0];
        await relays.started(who.user, r.relayId);
      }
      await firesAt(r, t0 + JOIN_MS, status);
      await expectEnded(r, t0 + JOIN_MS, 'join_timeout');
    },
  );

  it('counts the join timeout from the accept of an invitation', async () => {
    const t0 = app.clock.begin();
    const r = await serviceRelay(app, { mode: 'invite' });
    const acceptedAt = app.clock.advance(INVITE_MS - 1);
    await relays.accept(r.recvs[0].user, r.relayId);
    await sweepAt(t0 + INVITE_MS);
    await firesAt(r, acceptedAt + JOIN_MS, 1);
    await expectEnded(r, acceptedAt + JOIN_MS, 'join_timeout');
  });

  it('leaves a relay that reached 4 alone once the join timeout has passed', async () => {
    const t0 = app.clock.begin();
    const r = await serviceRelay(app);
    await joinAll(app, r);
    await sweepAt(t0 + JOIN_MS * 10);
    expect((await sessionRow(app, r.relayId)).status).toBe(4);
    await relays.stop(r.init.user, r.relayId);
  });

  it('ends a relay duration_s after start_at with duration_elapsed', async () => {
    app.clock.begin();
    const r = await serviceRelay(app, { duration_s: 10 });
    app.clock.advance(500);
    await joinAll(app, r);
    const { startAt } = await sessionRow(app, r.relayId);
    await firesAt(r, (startAt as number) + 10_000, 4);
    await expectEnded(r, (startAt as number) + 10_000, 'duration_elapsed');
  });

  it('rejects every receiver still invited when the invite timeout of a group fires', async () => {
    const t0 = app.clock.begin();
    const r = await serviceRelay(app, { mode: 'invite', receivers: 3 });
    app.clock.advance(1000);
    await relays.accept(r.recvs[0].user, r.relayId);
    await firesAt(r, t0 + INVITE_MS, 1);
    const session = await relays.get(r.init.user, r.relayId);
    expect(session.rooms.map((room) => [room.state, room.reason])).toEqual([
      ['agreed', ''],
      ['agreed', ''],
      ['rejected', 'invite_timeout'],
      ['rejected', 'invite_timeout'],
    ]);
    expect(session.status).toBe(1);
    await relays.stop(r.init.user, r.relayId);
  });

  describe('room heartbeats', () => {
    it('stops a room silent for ROOM_HEARTBEAT_TIMEOUT_S and ends its relay with room_offline', async () => {
      app.clock.begin();
      const r = await serviceRelay(app);
      await joinAll(app, r);
      const lastBeat = app.clock.advance(1000);
      await rooms.heartbeat(r.init.user, r.init.liveId);
      // Only the receiver keeps its room alive.
      for (let beat = 1; beat <= 3; beat++) {
        app.clock.set(lastBeat + beat * (HEARTBEAT_MS / 3));
        await rooms.heartbeat(r.recvs[0].user, r.recvs[0].liveId);
      }
      app.clock.set(lastBeat + HEARTBEAT_MS - 1);
      await rooms.stopSilent(200);
      expect((await rooms.info(r.init.user, r.init.liveId)).live_status).toBe(1);
      app.clock.set(lastBeat + HEARTBEAT_MS);
      await Promise.all([rooms.stopSilent(200), rooms.stopSilent(200)]);
      const initRoom = await rooms.info(r.init.user, r.init.liveId);
      expect(initRoom).toMatchObject({ live_status: 2, pk_id: '' });
      expect(initRoom.end_time).toBe(Math.floor((lastBeat + HEARTBEAT_MS) / 1000));
      expect(await rooms.info(r.recvs[0].user, r.recvs[0].liveId)).toMatchObject({
        live_status: 1,
        pk_id: '',
      });
      await expectEnded(r, lastBeat + HEARTBEAT_MS, 'room_offline');
    });
  });
});

describe('relay timers set to 0', () => {
  let app: MediumApp;
  beforeAll(async () => {
    app = await startMediumApp({
      RELAY_INVITE_TIMEOUT_S: '0',
      RELAY_JOIN_TIMEOUT_S: '0',
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
    });
  });
  afterAll(() => app.close());

  it('never expire invitations, joins or silent rooms', async () => {
    const invited = await serviceRelay(app, { mode: 'invite' });
    const agreed = await serviceRelay(app);
    app.clock.advance(365 * 24 * 3600_000);
    expect(await app.get(RelayService).expireDue(200)).toBe(0);
    expect(await app.get(LiveRoomService).stopSilent(200)).toBe(0);
    for (const [r, status] of [
      [invited, 0],
      [agreed, 1],
    ] as const) {
      expect((await sessionRow(app, r.relayId)).status).toBe(status);
      const room = await app.get(LiveRoomService).info(r.init.user, r.init.liveId);
      expect(room.live_status).toBe(1);
    }
  });
});
