/**
 * docs/concepts.md, "Group relays" ("Timers of each room", "When a room leaves", "How the
 * relay's status follows its rooms", "Releasing rooms", "Two rooms are a group of one"), and
 * docs/events.md, "Room events": the timers of relays of three rooms or more act on one room at
 * a time. The invite timeout rejects every receiver still invited, the join timeout lets a room
 * that agreed and never joined leave (counted from when that room agreed; the initiator's from
 * when the relay reached 1), a stopped or silent room leaves and is free at once; the relay goes
 * on while two rooms are in and ends with the reason of the room that went (or of the
 * initiator's room), and `duration_s` ends it without moving any room. Each room move is one
 * `relay.room_changed` event written before the `relay.status_changed` it causes, exactly once
 * however many sweeps run, with `seq` 1, 2, 3... For each timer, one check that a relay of two
 * rooms behaves as it always did (docs/concepts.md, "Timers"), with only
 * `relay.status_changed` events.
 *
 * Most tests move the app's clock (as the timer sweep specs do) and run the sweeps themselves,
 * so every due time is checked to the millisecond; one test leaves the sweeping to the app's
 * own background sweep, still on the moved clock.
 */
import { LiveRoomService } from '../../src/live-room/live-room.service';
import { RelayService } from '../../src/relay/relay.service';
import {
  anchor,
  Anchor,
  EventRow,
  groupRelay,
  NO_TIMERS,
  relay,
  relayEvents,
  sessionRow,
  SessionRow,
} from '../factories';
import { expectError, expectOk } from '../utils/assertions';
import { FakeClock } from '../utils/fake-clock';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitUntil } from '../utils/wait';

const INVITE_S = 2;
const JOIN_S = 3;
const HEARTBEAT_S = 2;
const INVITE_MS = INVITE_S * 1000;
const JOIN_MS = JOIN_S * 1000;
const HEARTBEAT_MS = HEARTBEAT_S * 1000;

/** The background sweeps run at start, then every 10 s: the tests run them at chosen times. */
const QUIET = { TIMER_INTERVAL_MS: '10000' };

/** A relay as the tests see it: the initiator, then the receivers in the order of the start. */
interface Group {
  init: Anchor;
  recvs: Anchor[];
  relayId: string;
}

type State = 'invited' | 'agreed' | 'joined' | 'rejected' | 'left';
type RoomState = State | [State, string];

/** One event, reduced to what the tests compare. */
type Brief =
  | { type: 'room'; room: string; user: string; from: string; to: string; reason: string }
  | { type: 'status'; from: number | null; to: number; reason: string }
  | { type: string };

const roomsOf = (g: Group) => [g.init, ...g.recvs];

function brief(e: EventRow): Brief {
  if (e.type === 'relay.room_changed') {
    const { room_id, user_id, from, to, reason } = e.data;
    return { type: 'room', room: room_id, user: user_id, from, to, reason };
  }
  if (e.type === 'relay.status_changed') {
    return { type: 'status', from: e.data.from, to: e.data.to, reason: e.data.reason };
  }
  return { type: e.type };
}

const roomMoved = (who: Anchor, from: State, to: State, reason: string): Brief => ({
  type: 'room',
  room: who.liveId,
  user: who.userId,
  from,
  to,
  reason,
});

const statusMoved = (from: number | null, to: number, reason = ''): Brief => ({
  type: 'status',
  from,
  to,
  reason,
});

/** The log of one relay: seq 1, 2, 3... in id order, and no room move recorded twice. */
function expectWholeLog(events: EventRow[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  for (let i = 1; i < events.length; i++) expect(events[i].id).toBeGreaterThan(events[i - 1].id);
  const moves = events
    .filter((e) => e.type === 'relay.room_changed')
    .map((e) => `${e.data.room_id} ${e.data.from}->${e.data.to}`);
  expect(moves).toEqual([...new Set(moves)]);
  expect(events.filter((e) => e.type === 'relay.status_changed' && e.data.from === null)).toEqual([
    events[0],
  ]);
}

/** What every describe block needs around one app (or several nodes on one database). */
function harness(getApp: () => TestApp) {
  const t = () => getApp();

  async function session(g: Group): Promise<any> {
    return expectOk(await t().call('GET', `/client/relay/${g.relayId}`, { token: g.init.token }));
  }

  const row = (g: Group): Promise<SessionRow> => sessionRow(t(), g.relayId);

  /** The relay's status, stop_reason and rooms, exactly. */
  async function expectRelay(g: Group, status: number, stopReason: string, states: RoomState[]) {
    const s = await session(g);
    expect({ status: s.status, stop_reason: s.stop_reason, rooms: s.rooms }).toEqual({
      status,
      stop_reason: stopReason,
      rooms: roomsOf(g).map((who, i) => {
        const [state, reason] = Array.isArray(states[i]) ? states[i] : [states[i], ''];
        return {
          room_id: who.liveId,
          user_id: who.userId,
          role: i === 0 ? 'init' : 'recv',
          state,
          reason,
        };
      }),
    });
    return s;
  }

  /** Each room's pk_id: the relay while the room is in, else "". */
  async function expectClaims(g: Group, inRelay: boolean[]) {
    const pkIds: string[] = [];
    for (const who of roomsOf(g)) {
      const room = expectOk(
        await t().call('GET', `/client/live/room/info/${who.liveId}`, { token: who.token }),
      );
      pkIds.push(room.pk_id);
    }
    expect(pkIds).toEqual(inRelay.map((claimed) => (claimed ? g.relayId : '')));
  }

  async function liveStatus(who: Anchor): Promise<number> {
    const room = expectOk(
      await t().call('GET', `/client/live/room/info/${who.liveId}`, { token: who.token }),
    );
    return room.live_status;
  }

  /** One anchor's request on the relay; answers its data, after checking the relay status. */
  async function act(g: Group, action: string, who: Anchor, status: number) {
    const data = expectOk(
      await t().call('POST', `/client/relay/${g.relayId}/${action}`, { token: who.token }),
    );
    expect(data.relay_status).toBe(status);
    return data;
  }

  async function stopRoom(who: Anchor) {
    const room = expectOk(
      await t().call('DELETE', `/client/live/room/${who.liveId}`, { token: who.token }),
    );
    expect(room).toMatchObject({ live_status: 2, pk_id: '' });
  }

  async function heartbeat(...who: Anchor[]) {
    for (const a of who) {
      expectOk(
        await t().call('GET', `/client/live/room/heartbeat/${a.liveId}`, { token: a.token }),
      );
    }
  }

  /** The relay's whole log, checked for gaps and repeats. */
  async function log(g: Group): Promise<EventRow[]> {
    const events = await relayEvents(t(), g.relayId);
    expectWholeLog(events);
    return events;
  }

  /** The events recorded after the first `seen`. */
  async function since(g: Group, seen: number): Promise<EventRow[]> {
    return (await log(g)).slice(seen);
  }

  return {
    session,
    row,
    expectRelay,
    expectClaims,
    liveStatus,
    act,
    stopRoom,
    heartbeat,
    log,
    since,
  };
}

/** Sweeps and starts at times the tests choose, for an app whose clock a test moves. */
function clocked(getApp: () => TestApp, clock: FakeClock, h: ReturnType<typeof harness>) {
  const t = () => getApp();

  /** Several sweeps at once and one more: a timer that fires twice shows in the log. */
  async function sweep(nodes: TestApp[] = [t()]) {
    const sweeps = nodes.map((node) => node.app.get(RelayService));
    await Promise.all(
      sweeps.flatMap((s) => [s.expireDue(200), s.expireDue(200), s.expireDue(200)]),
    );
    for (const s of sweeps) await s.expireDue(200);
  }

  /** Sweeps at `at`; answers the events this recorded. */
  async function sweepAt(g: Group, at: number): Promise<EventRow[]> {
    const seen = (await h.log(g)).length;
    clock.set(at);
    await sweep();
    return h.since(g, seen);
  }

  /**
   * Sweeps a millisecond before `due` (nothing may happen), then at `due`; answers the events
   * recorded at `due`, each of which must carry `due` as its time.
   */
  async function firesAt(g: Group, due: number): Promise<EventRow[]> {
    expect(await sweepAt(g, due - 1)).toEqual([]);
    const fired = await sweepAt(g, due);
    expect(fired.map((e) => e.occurred_at)).toEqual(fired.map(() => due));
    return fired;
  }

  /** Starts a relay with `recv_rooms` at the clock's time; answers it and its created_at. */
  async function start(
    receivers: number,
    options: { mode?: 'auto' | 'invite'; duration_s?: number } = {},
  ): Promise<{ g: Group; t0: number }> {
    const t0 = clock.begin();
    const g = await groupRelay(t(), receivers, options);
    expect((await h.row(g)).createdAt).toBe(t0);
    expect(g.started.relay_status).toBe(options.mode === 'invite' ? 0 : 1);
    return { g, t0 };
  }

  return { sweep, sweepAt, firesAt, start };
}

/** Converts a fixture of two rooms to the shape of a group. */
const pair = (r: { init: Anchor; recv: Anchor; relayId: string }): Group => ({
  init: r.init,
  recvs: [r.recv],
  relayId: r.relayId,
});

describe('group relay timers, at due times set by a moved clock', () => {
  let t: TestApp;
  const clock = new FakeClock();
  const h = harness(() => t);

  beforeAll(async () => {
    t = await startTestApp({
      ...QUIET,
      RELAY_INVITE_TIMEOUT_S: String(INVITE_S),
      RELAY_JOIN_TIMEOUT_S: String(JOIN_S),
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
    });
    clock.attachTo(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  const { sweep, sweepAt, firesAt, start } = clocked(() => t, clock, h);

  describe('invite timeout', () => {
    it('rejects every receiver still invited at created_at + RELAY_INVITE_TIMEOUT_S; none agreed: the relay ends 6 invite_timeout', async () => {
      const { g, t0 } = await start(3, { mode: 'invite' });
      const [a, b, c] = g.recvs;
      await h.expectRelay(g, 0, '', ['agreed', 'invited', 'invited', 'invited']);
      await h.expectClaims(g, [true, true, true, true]);

      const fired = await firesAt(g, t0 + INVITE_MS);
      expect(fired.map(brief)).toEqual([
        roomMoved(a, 'invited', 'rejected', 'invite_timeout'),
        roomMoved(b, 'invited', 'rejected', 'invite_timeout'),
        roomMoved(c, 'invited', 'rejected', 'invite_timeout'),
        statusMoved(0, 6, 'invite_timeout'),
      ]);
      // A room event carries the session right after that room moved, before the status follows.
      expect(fired[0].data.session.status).toBe(0);
      expect(fired[0].data.session.rooms.map((r: any) => r.state)).toEqual([
        'agreed',
        'rejected',
        'invited',
        'invited',
      ]);
      expect(fired[3].data.session).toMatchObject({ status: 6, stop_reason: 'invite_timeout' });

      await h.expectRelay(g, 6, 'invite_timeout', [
        'agreed',
        ['rejected', 'invite_timeout'],
        ['rejected', 'invite_timeout'],
        ['rejected', 'invite_timeout'],
      ]);
      expect(await h.row(g)).toMatchObject({ status: 6, startAt: null, stopAt: t0 + INVITE_MS });
      await h.expectClaims(g, [false, false, false, false]);
      expect(await sweepAt(g, t0 + 60_000)).toEqual([]);
    });

    it('rejects the receivers still invited when another has accepted; the relay goes on at 1 with two rooms in', async () => {
      const { g, t0 } = await start(3, { mode: 'invite' });
      const [a, b, c] = g.recvs;
      clock.set(t0 + 500);
      await h.act(g, 'accept', a, 1);
      await h.expectRelay(g, 1, '', ['agreed', 'agreed', 'invited', 'invited']);

      const fired = await firesAt(g, t0 + INVITE_MS);
      expect(fired.map(brief)).toEqual([
        roomMoved(b, 'invited', 'rejected', 'invite_timeout'),
        roomMoved(c, 'invited', 'rejected', 'invite_timeout'),
      ]);
      await h.expectRelay(g, 1, '', [
        'agreed',
        'agreed',
        ['rejected', 'invite_timeout'],
        ['rejected', 'invite_timeout'],
      ]);
      expect(await h.row(g)).toMatchObject({ status: 1, startAt: t0 + 500, stopAt: null });
      await h.expectClaims(g, [true, true, false, false]);

      // A rejected room's accept is refused, and the room is free for another relay.
      expectError(
        await t.call('POST', `/client/relay/${g.relayId}/accept`, { token: b.token }),
        409,
        601,
      );
      const other = await anchor(t);
      const next = await t.call('POST', '/client/relay/start', {
        token: b.token,
        body: { init_room_id: b.liveId, recv_room_id: other.liveId, recv_user_id: other.userId },
      });
      expect(expectOk(next).relay_status).toBe(1);
    });

    it('one explicit reject and one timeout: the relay ends 6 invite_timeout, not 5', async () => {
      const { g, t0 } = await start(2, { mode: 'invite' });
      const [a, b] = g.recvs;
      clock.set(t0 + 300);
      await h.act(g, 'reject', a, 0);
      await h.expectRelay(g, 0, '', ['agreed', ['rejected', 'rejected'], 'invited']);
      await h.expectClaims(g, [true, false, true]);

      const fired = await firesAt(g, t0 + INVITE_MS);
      expect(fired.map(brief)).toEqual([
        roomMoved(b, 'invited', 'rejected', 'invite_timeout'),
        statusMoved(0, 6, 'invite_timeout'),
      ]);
      await h.expectRelay(g, 6, 'invite_timeout', [
        'agreed',
        ['rejected', 'rejected'],
        ['rejected', 'invite_timeout'],
      ]);
      expect(await h.row(g)).toMatchObject({ status: 6, stopAt: t0 + INVITE_MS });
      await h.expectClaims(g, [false, false, false]);
    });

    it('two rooms: ends the invitation 6 invite_timeout as before, with status events only', async () => {
      const t0 = clock.begin();
      const g = pair(await relay(t, { mode: 'invite' }));
      const fired = await firesAt(g, t0 + INVITE_MS);
      expect(fired.map(brief)).toEqual([statusMoved(0, 6, 'invite_timeout')]);
      await h.expectRelay(g, 6, 'invite_timeout', ['agreed', ['rejected', 'invite_timeout']]);
      expect(await h.row(g)).toMatchObject({ createdAt: t0, stopAt: t0 + INVITE_MS });
      await h.expectClaims(g, [false, false]);
      expect((await h.log(g)).map(brief)).toEqual([
        statusMoved(null, 0),
        statusMoved(0, 6, 'invite_timeout'),
      ]);
    });
  });

  describe('join timeout, per room', () => {
    it('lets each receiver that agreed and never joined leave RELAY_JOIN_TIMEOUT_S after it agreed; a relay at 4 stays 4', async () => {
      const { g, t0 } = await start(3, { mode: 'invite' });
      const [a, b, c] = g.recvs;
      clock.set(t0 + 100);
      await h.act(g, 'accept', a, 1);
      clock.set(t0 + 200);
      await h.act(g, 'started', g.init, 2);
      clock.set(t0 + 300);
      await h.act(g, 'started', a, 4);
      clock.set(t0 + 1000);
      await h.act(g, 'accept', b, 4);
      clock.set(t0 + 1500);
      await h.act(g, 'accept', c, 4);
      await h.expectRelay(g, 4, '', ['joined', 'joined', 'agreed', 'agreed']);

      // The invite deadline passes with nobody invited: nothing happens.
      expect(await sweepAt(g, t0 + INVITE_MS)).toEqual([]);
      // Counted from when each room agreed, not from the relay's start_at (t0 + 100).
      expect(await sweepAt(g, t0 + 100 + JOIN_MS)).toEqual([]);

      expect((await firesAt(g, t0 + 1000 + JOIN_MS)).map(brief)).toEqual([
        roomMoved(b, 'agreed', 'left', 'join_timeout'),
      ]);
      await h.expectRelay(g, 4, '', ['joined', 'joined', ['left', 'join_timeout'], 'agreed']);
      await h.expectClaims(g, [true, true, false, true]);

      expect((await firesAt(g, t0 + 1500 + JOIN_MS)).map(brief)).toEqual([
        roomMoved(c, 'agreed', 'left', 'join_timeout'),
      ]);
      await h.expectRelay(g, 4, '', [
        'joined',
        'joined',
        ['left', 'join_timeout'],
        ['left', 'join_timeout'],
      ]);
      await h.expectClaims(g, [true, true, false, false]);
      expect(await h.row(g)).toMatchObject({ status: 4, startAt: t0 + 100, stopAt: null });

      // No timer is left: much later nothing fires.
      expect(await sweepAt(g, t0 + 60_000)).toEqual([]);
      expect((await h.session(g)).status).toBe(4);

      // The whole story: each room event before the status change it causes, none twice.
      expect((await h.log(g)).map(brief)).toEqual([
        statusMoved(null, 0),
        roomMoved(a, 'invited', 'agreed', ''),
        statusMoved(0, 1),
        roomMoved(g.init, 'agreed', 'joined', ''),
        statusMoved(1, 2),
        roomMoved(a, 'agreed', 'joined', ''),
        statusMoved(2, 4),
        roomMoved(b, 'invited', 'agreed', ''),
        roomMoved(c, 'invited', 'agreed', ''),
        roomMoved(b, 'agreed', 'left', 'join_timeout'),
        roomMoved(c, 'agreed', 'left', 'join_timeout'),
      ]);
    });

    it('keeps a relay at 2 while the initiator and one receiver are in; the last receiver to time out ends it 6 join_timeout', async () => {
      const { g, t0 } = await start(2, { mode: 'invite' });
      const [a, b] = g.recvs;
      clock.set(t0 + 200);
      await h.act(g, 'accept', a, 1);
      await h.act(g, 'started', g.init, 2);
      clock.set(t0 + 900);
      await h.act(g, 'accept', b, 2);
      await h.expectRelay(g, 2, '', ['joined', 'agreed', 'agreed']);

      expect((await firesAt(g, t0 + 200 + JOIN_MS)).map(brief)).toEqual([
        roomMoved(a, 'agreed', 'left', 'join_timeout'),
      ]);
      await h.expectRelay(g, 2, '', ['joined', ['left', 'join_timeout'], 'agreed']);
      await h.expectClaims(g, [true, false, true]);

      expect((await firesAt(g, t0 + 900 + JOIN_MS)).map(brief)).toEqual([
        roomMoved(b, 'agreed', 'left', 'join_timeout'),
        statusMoved(2, 6, 'join_timeout'),
      ]);
      await h.expectRelay(g, 6, 'join_timeout', [
        'joined',
        ['left', 'join_timeout'],
        ['left', 'join_timeout'],
      ]);
      expect(await h.row(g)).toMatchObject({ startAt: t0 + 200, stopAt: t0 + 900 + JOIN_MS });
      await h.expectClaims(g, [false, false, false]);
    });

    it('lets every receiver that never joined leave at once, one event each in rooms order; fewer than two in: 6 join_timeout', async () => {
      const { g, t0 } = await start(3);
      const [a, b, c] = g.recvs;
      await h.expectRelay(g, 1, '', ['agreed', 'agreed', 'agreed', 'agreed']);
      await h.act(g, 'started', g.init, 2);

      const fired = await firesAt(g, t0 + JOIN_MS);
      expect(fired.map(brief)).toEqual([
        roomMoved(a, 'agreed', 'left', 'join_timeout'),
        roomMoved(b, 'agreed', 'left', 'join_timeout'),
        roomMoved(c, 'agreed', 'left', 'join_timeout'),
        statusMoved(2, 6, 'join_timeout'),
      ]);
      await h.expectRelay(g, 6, 'join_timeout', [
        'joined',
        ['left', 'join_timeout'],
        ['left', 'join_timeout'],
        ['left', 'join_timeout'],
      ]);
      expect(await h.row(g)).toMatchObject({ startAt: t0, stopAt: t0 + JOIN_MS });
      await h.expectClaims(g, [false, false, false, false]);
    });

    it("ends the relay 6 join_timeout when the initiator's room has not joined RELAY_JOIN_TIMEOUT_S after the relay reached 1", async () => {
      const { g, t0 } = await start(3, { mode: 'invite' });
      const [a, b, c] = g.recvs;
      clock.set(t0 + 500);
      await h.act(g, 'accept', a, 1);
      clock.set(t0 + 600);
      await h.act(g, 'started', a, 3);
      clock.set(t0 + 1000);
      await h.act(g, 'accept', b, 3);
      await h.act(g, 'started', b, 3);

      expect((await sweepAt(g, t0 + INVITE_MS)).map(brief)).toEqual([
        roomMoved(c, 'invited', 'rejected', 'invite_timeout'),
      ]);
      await h.expectRelay(g, 3, '', ['agreed', 'joined', 'joined', ['rejected', 'invite_timeout']]);
      // Counted from when the relay reached 1, not from created_at.
      expect(await sweepAt(g, t0 + JOIN_MS)).toEqual([]);

      const fired = await firesAt(g, t0 + 500 + JOIN_MS);
      expect(fired.map(brief)).toEqual([
        roomMoved(g.init, 'agreed', 'left', 'join_timeout'),
        statusMoved(3, 6, 'join_timeout'),
      ]);
      await h.expectRelay(g, 6, 'join_timeout', [
        ['left', 'join_timeout'],
        'joined',
        'joined',
        ['rejected', 'invite_timeout'],
      ]);
      expect(await h.row(g)).toMatchObject({ startAt: t0 + 500, stopAt: t0 + 500 + JOIN_MS });
      await h.expectClaims(g, [false, false, false, false]);
    });

    it('two rooms: ends a relay at 2 with join_timeout as before, with status events only', async () => {
      const t0 = clock.begin();
      const g = pair(await relay(t));
      await h.act(g, 'started', g.init, 2);
      const fired = await firesAt(g, t0 + JOIN_MS);
      expect(fired.map(brief)).toEqual([statusMoved(2, 6, 'join_timeout')]);
      await h.expectRelay(g, 6, 'join_timeout', ['joined', ['left', 'join_timeout']]);
      expect(await h.row(g)).toMatchObject({ startAt: t0, stopAt: t0 + JOIN_MS });
      await h.expectClaims(g, [false, false]);
      expect((await h.log(g)).map(brief)).toEqual([
        statusMoved(null, 1),
        statusMoved(1, 2),
        statusMoved(2, 6, 'join_timeout'),
      ]);
    });
  });

  describe('exactly once', () => {
    it('fires each room once when two nodes sweep the same due timers at the same time', async () => {
      const second = await startTestApp({
        ...QUIET,
        RELAY_INVITE_TIMEOUT_S: String(INVITE_S),
        RELAY_JOIN_TIMEOUT_S: String(JOIN_S),
        ROOM_HEARTBEAT_TIMEOUT_S: '0',
        DATABASE_URL: t.databaseUrl,
      });
      try {
        clock.attachTo(second.app);
        const { g, t0 } = await start(4, { mode: 'invite' });
        const [a, b, c, d] = g.recvs;
        clock.set(t0 + 100);
        await h.act(g, 'accept', a, 1);
        await h.act(g, 'started', g.init, 2);
        await h.act(g, 'started', a, 4);
        clock.set(t0 + 500);
        await h.act(g, 'accept', b, 4);
        await h.act(g, 'accept', c, 4);
        const seen = (await h.log(g)).length;

        // d's invitation and b's and c's joins are all due: the sweeps of both nodes race. SQLite
        // is for one node (docs/operations.md, "Many nodes"), and two in one process would wait
        // on each other's file lock with the event loop blocked, so there they take turns.
        clock.set(t0 + 500 + JOIN_MS);
        for (let round = 0; round < 3; round++) {
          if (t.config.database.kind === 'sqlite') {
            await sweep([t]);
            await sweep([second]);
          } else {
            await sweep([t, second]);
          }
        }
        const fired = (await h.since(g, seen)).map(brief);
        expect(fired).toHaveLength(3);
        expect(fired).toEqual(
          expect.arrayContaining([
            roomMoved(b, 'agreed', 'left', 'join_timeout'),
            roomMoved(c, 'agreed', 'left', 'join_timeout'),
            roomMoved(d, 'invited', 'rejected', 'invite_timeout'),
          ]),
        );
        await h.expectRelay(g, 4, '', [
          'joined',
          'joined',
          ['left', 'join_timeout'],
          ['left', 'join_timeout'],
          ['rejected', 'invite_timeout'],
        ]);
        await h.expectClaims(g, [true, true, false, false, false]);
      } finally {
        await second.close();
      }
    });
  });

  describe('rooms that go away', () => {
    async function atFour() {
      const { g } = await start(3);
      const [a, b] = g.recvs;
      await h.act(g, 'started', g.init, 2);
      await h.act(g, 'started', a, 4);
      await h.act(g, 'started', b, 4);
      await h.expectRelay(g, 4, '', ['joined', 'joined', 'joined', 'agreed']);
      return g;
    }

    it("lets a receiver's stopped room leave (room_stopped) while two rooms stay in; the last one to go ends the relay with its reason", async () => {
      const g = await atFour();
      const [a, b, c] = g.recvs;
      let seen = (await h.log(g)).length;

      await h.stopRoom(c);
      expect((await h.since(g, seen)).map(brief)).toEqual([
        roomMoved(c, 'agreed', 'left', 'room_stopped'),
      ]);
      await h.expectRelay(g, 4, '', ['joined', 'joined', 'joined', ['left', 'room_stopped']]);
      await h.expectClaims(g, [true, true, true, false]);
      seen += 1;

      await h.stopRoom(b);
      expect((await h.since(g, seen)).map(brief)).toEqual([
        roomMoved(b, 'joined', 'left', 'room_stopped'),
      ]);
      await h.expectRelay(g, 4, '', [
        'joined',
        'joined',
        ['left', 'room_stopped'],
        ['left', 'room_stopped'],
      ]);
      await h.expectClaims(g, [true, true, false, false]);
      seen += 1;

      await h.stopRoom(a);
      expect((await h.since(g, seen)).map(brief)).toEqual([
        roomMoved(a, 'joined', 'left', 'room_stopped'),
        statusMoved(4, 6, 'room_stopped'),
      ]);
      await h.expectRelay(g, 6, 'room_stopped', [
        'joined',
        ['left', 'room_stopped'],
        ['left', 'room_stopped'],
        ['left', 'room_stopped'],
      ]);
      await h.expectClaims(g, [false, false, false, false]);
      expect(await h.liveStatus(g.init)).toBe(1);
    });

    it("ends the relay room_stopped when the initiator's room is stopped; the other rooms keep their states", async () => {
      const g = await atFour();
      const seen = (await h.log(g)).length;
      await h.stopRoom(g.init);
      expect((await h.since(g, seen)).map(brief)).toEqual([
        roomMoved(g.init, 'joined', 'left', 'room_stopped'),
        statusMoved(4, 6, 'room_stopped'),
      ]);
      await h.expectRelay(g, 6, 'room_stopped', [
        ['left', 'room_stopped'],
        'joined',
        'joined',
        'agreed',
      ]);
      expect(await h.row(g)).toMatchObject({ stopAt: clock.now() });
      await h.expectClaims(g, [false, false, false, false]);
      for (const who of g.recvs) expect(await h.liveStatus(who)).toBe(1);
    });

    it("two rooms: a receiver's stopped room ends the relay room_stopped as before", async () => {
      clock.begin();
      const g = pair(await relay(t));
      await h.act(g, 'started', g.init, 2);
      await h.act(g, 'started', g.recvs[0], 4);
      await h.stopRoom(g.recvs[0]);
      await h.expectRelay(g, 6, 'room_stopped', ['joined', ['left', 'room_stopped']]);
      await h.expectClaims(g, [false, false]);
      expect((await h.log(g)).map(brief)).toEqual([
        statusMoved(null, 1),
        statusMoved(1, 2),
        statusMoved(2, 4),
        statusMoved(4, 6, 'room_stopped'),
      ]);
    });
  });
});

describe('group relay duration_s, with the room timers off so that every room state lasts', () => {
  let t: TestApp;
  const clock = new FakeClock();
  const h = harness(() => t);
  const { sweepAt, firesAt, start } = clocked(() => t, clock, h);

  beforeAll(async () => {
    t = await startTestApp({ ...QUIET, ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' });
    clock.attachTo(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends the relay duration_elapsed duration_s after start_at; every room keeps its state', async () => {
    const { g, t0 } = await start(4, { mode: 'invite', duration_s: 10 });
    // The third receiver never answers.
    const [a, b, , d] = g.recvs;
    clock.set(t0 + 100);
    await h.act(g, 'accept', a, 1);
    await h.act(g, 'started', g.init, 2);
    await h.act(g, 'started', a, 4);
    clock.set(t0 + 200);
    await h.act(g, 'accept', b, 4);
    clock.set(t0 + 300);
    await h.act(g, 'reject', d, 4);
    await h.expectRelay(g, 4, '', [
      'joined',
      'joined',
      'agreed',
      'invited',
      ['rejected', 'rejected'],
    ]);
    await h.expectClaims(g, [true, true, true, true, false]);

    // Counted from start_at (t0 + 100), not from created_at.
    const fired = await firesAt(g, t0 + 100 + 10_000);
    expect(fired.map(brief)).toEqual([statusMoved(4, 6, 'duration_elapsed')]);
    await h.expectRelay(g, 6, 'duration_elapsed', [
      'joined',
      'joined',
      'agreed',
      'invited',
      ['rejected', 'rejected'],
    ]);
    expect(await h.row(g)).toMatchObject({ startAt: t0 + 100, stopAt: t0 + 100 + 10_000 });
    await h.expectClaims(g, [false, false, false, false, false]);
    expect(await sweepAt(g, t0 + 60_000)).toEqual([]);
  });

  it('two rooms: ends the relay duration_elapsed as before, with status events only', async () => {
    const { g, t0 } = await start(1, { duration_s: 10 });
    await h.act(g, 'started', g.init, 2);
    await h.act(g, 'started', g.recvs[0], 4);
    const fired = await firesAt(g, t0 + 10_000);
    expect(fired.map(brief)).toEqual([statusMoved(4, 6, 'duration_elapsed')]);
    await h.expectRelay(g, 6, 'duration_elapsed', ['joined', 'joined']);
    expect(await h.row(g)).toMatchObject({ startAt: t0, stopAt: t0 + 10_000 });
    await h.expectClaims(g, [false, false]);
    expect((await h.log(g)).map(brief)).toEqual([
      statusMoved(null, 1),
      statusMoved(1, 2),
      statusMoved(2, 4),
      statusMoved(4, 6, 'duration_elapsed'),
    ]);
  });
});

describe('group relay rooms without heartbeats, at due times set by a moved clock', () => {
  let t: TestApp;
  const clock = new FakeClock();
  const h = harness(() => t);

  beforeAll(async () => {
    t = await startTestApp({
      ...QUIET,
      ...NO_TIMERS,
      ROOM_HEARTBEAT_TIMEOUT_S: String(HEARTBEAT_S),
    });
    clock.attachTo(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Runs the silent-room sweep at `at`, twice at once and once more. */
  async function sweepRoomsAt(at: number) {
    clock.set(at);
    const rooms = t.app.get(LiveRoomService);
    await Promise.all([rooms.stopSilent(200), rooms.stopSilent(200)]);
    await rooms.stopSilent(200);
  }

  it("lets a silent receiver's room leave (room_offline) while the relay goes on; the silent initiator's room ends it room_offline", async () => {
    const t0 = clock.begin();
    const g = await groupRelay(t, 3);
    const [a, b, c] = g.recvs;
    await h.act(g, 'started', g.init, 2);
    await h.act(g, 'started', a, 4);
    await h.act(g, 'started', b, 4);
    let seen = (await h.log(g)).length;

    // Every anchor but c's keeps its room alive.
    clock.set(t0 + 1000);
    await h.heartbeat(g.init, a, b);
    await sweepRoomsAt(t0 + HEARTBEAT_MS - 1);
    expect(await h.since(g, seen)).toEqual([]);
    expect(await h.liveStatus(c)).toBe(1);

    await sweepRoomsAt(t0 + HEARTBEAT_MS);
    const offline = await h.since(g, seen);
    expect(offline.map(brief)).toEqual([roomMoved(c, 'agreed', 'left', 'room_offline')]);
    expect(offline[0].occurred_at).toBe(t0 + HEARTBEAT_MS);
    expect(await h.liveStatus(c)).toBe(2);
    await h.expectRelay(g, 4, '', ['joined', 'joined', 'joined', ['left', 'room_offline']]);
    await h.expectClaims(g, [true, true, true, false]);
    seen += 1;

    // Now the initiator goes silent too: its last heartbeat was at t0 + 1000.
    await h.heartbeat(a, b);
    await sweepRoomsAt(t0 + 1000 + HEARTBEAT_MS - 1);
    expect(await h.since(g, seen)).toEqual([]);
    await sweepRoomsAt(t0 + 1000 + HEARTBEAT_MS);
    const ended = await h.since(g, seen);
    expect(ended.map(brief)).toEqual([
      roomMoved(g.init, 'joined', 'left', 'room_offline'),
      statusMoved(4, 6, 'room_offline'),
    ]);
    expect(ended.map((e) => e.occurred_at)).toEqual([
      t0 + 1000 + HEARTBEAT_MS,
      t0 + 1000 + HEARTBEAT_MS,
    ]);
    await h.expectRelay(g, 6, 'room_offline', [
      ['left', 'room_offline'],
      'joined',
      'joined',
      ['left', 'room_offline'],
    ]);
    expect(await h.row(g)).toMatchObject({ stopAt: t0 + 1000 + HEARTBEAT_MS });
    await h.expectClaims(g, [false, false, false, false]);
    expect(await h.liveStatus(g.init)).toBe(2);
    expect([await h.liveStatus(a), await h.liveStatus(b)]).toEqual([1, 1]);
  });

  it("two rooms: a silent receiver's room ends the relay room_offline as before", async () => {
    const t0 = clock.begin();
    const g = pair(await relay(t));
    await h.act(g, 'started', g.init, 2);
    await h.act(g, 'started', g.recvs[0], 4);
    clock.set(t0 + 1000);
    await h.heartbeat(g.init);
    await sweepRoomsAt(t0 + HEARTBEAT_MS);
    await h.expectRelay(g, 6, 'room_offline', ['joined', ['left', 'room_offline']]);
    expect(await h.row(g)).toMatchObject({ stopAt: t0 + HEARTBEAT_MS });
    await h.expectClaims(g, [false, false]);
    expect((await h.log(g)).map(brief)).toEqual([
      statusMoved(null, 1),
      statusMoved(1, 2),
      statusMoved(2, 4),
      statusMoved(4, 6, 'room_offline'),
    ]);
  });
});

describe('group relay timers in the background sweep', () => {
  const TIMEOUT_MS = 2000;
  let t: TestApp;
  let clock: FakeClock;
  const h = harness(() => t);

  beforeAll(async () => {
    t = await startTestApp({
      TIMER_INTERVAL_MS: '100',
      RELAY_INVITE_TIMEOUT_S: String(TIMEOUT_MS / 1000),
      RELAY_JOIN_TIMEOUT_S: String(TIMEOUT_MS / 1000),
      ROOM_HEARTBEAT_TIMEOUT_S: '0',
    });
    // The clock stands still while the relay is set up, so a slow machine cannot let a timer
    // fall due before the test means it to; the app's own sweep then finds what fell due.
    clock = new FakeClock().attachTo(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The room moves with a reason (the timers' moves), once both rooms have one. */
  const timedOut = (g: Group, rooms: Anchor[]) =>
    waitUntil(`the timers of ${rooms.length} rooms to fire`, async () => {
      const moves = (await h.log(g)).filter(
        (e) => e.type === 'relay.room_changed' && e.data.reason !== '',
      );
      return moves.length >= rooms.length && moves;
    });

  it("fires each room's timer at its due time, once, and the relay goes on", async () => {
    const createdAt = clock.now();
    const g = await groupRelay(t, 3, { mode: 'invite' });
    const [a, b, c] = g.recvs;
    await h.act(g, 'accept', a, 1);
    await h.act(g, 'started', g.init, 2);
    await h.act(g, 'started', a, 4);
    const agreedAt = clock.advance(700);
    await h.act(g, 'accept', c, 4);

    // b never answers (due at created_at + 2 s); c never joins (due 2 s after it agreed).
    clock.set(createdAt + TIMEOUT_MS);
    await timedOut(g, [b]);
    clock.set(agreedAt + TIMEOUT_MS);
    const events = await timedOut(g, [b, c]);
    expect(events.map(brief)).toEqual([
      roomMoved(b, 'invited', 'rejected', 'invite_timeout'),
      roomMoved(c, 'agreed', 'left', 'join_timeout'),
    ]);
    expect(events.map((e) => e.occurred_at)).toEqual([
      createdAt + TIMEOUT_MS,
      agreedAt + TIMEOUT_MS,
    ]);

    // More sweeps find nothing more to do.
    await Promise.all([1, 2, 3].map(() => t.app.get(RelayService).expireDue(200)));
    await h.expectRelay(g, 4, '', [
      'joined',
      'joined',
      ['rejected', 'invite_timeout'],
      ['left', 'join_timeout'],
    ]);
    await h.expectClaims(g, [true, true, false, false]);
    expect((await h.log(g)).filter((e) => Boolean(e.data.reason))).toHaveLength(2);
    await h.act(g, 'stop', g.init, 6);
  });
});
