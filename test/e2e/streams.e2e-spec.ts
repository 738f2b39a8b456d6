/**
 * Server-sent event streams (docs/events.md, "Streams"): `GET /client/relay/events`
 * read by a real text/event-stream client over HTTP, checked against the events stored in the
 * relay_event table. Covers who sees what, authentication, reconnecting with Last-Event-ID,
 * latency on one node and across two nodes, many streams at once, keep-alive comments and
 * streams ending when the app closes. Writes the latencies to test-output/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { signClientToken } from '../../src/auth/client-token';
import {
  anchor,
  Anchor,
  EventRow,
  expectedFrame,
  NO_TIMERS,
  relay,
  relayEvents,
  tokenFor,
  uniqueUser,
} from '../factories';
import { frames, SseClient, SseConnectOptions, SseMessage } from '../utils/sse-client';
import { expectOk } from '../utils/assertions';
import { pause, waitUntil } from '../utils/wait';
import { startTestApp, TestApp } from '../utils/test-app';

const ENV = { ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' };
const EVENTS_PATH = '/client/relay/events';
const OTHER_APP = 'stream_other_app';

const dataOf = (m: SseMessage) => JSON.parse(m.data);
const relayOf = (m: SseMessage): string => dataOf(m).relay_id;

/** Several relays' stored events, merged in log order. */
async function storedEvents(t: TestApp, ...relayIds: string[]): Promise<EventRow[]> {
  const all = (await Promise.all(relayIds.map((id) => relayEvents(t, id)))).flat();
  return all.sort((a, b) => a.id - b.id);
}

async function startRelay(
  t: TestApp,
  init: Anchor,
  recv: Anchor,
  mode: 'auto' | 'invite' = 'auto',
): Promise<string> {
  const data = expectOk(
    await t.call('POST', '/client/relay/start', {
      token: init.token,
      body: {
        init_room_id: init.liveId,
        recv_room_id: recv.liveId,
        recv_user_id: recv.userId,
        mode,
      },
    }),
  );
  return data.relay_id;
}

function act(t: TestApp, relayId: string, action: string, who: Anchor, body?: unknown) {
  return t
    .call('POST', `/client/relay/${relayId}/${action}`, { token: who.token, body })
    .then(expectOk);
}

/**
 * POSTs JSON over a connection of its own rather than fetch's keep-alive pool, for a request
 * held up on purpose: answers the HTTP status.
 */
function postAlone(t: TestApp, path: string, token: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The [from, to, reason] of each status change carried by a stream. */
const moves = (s: SseClient) =>
  s.messages
    .filter((m) => m.event === 'relay.status_changed')
    .map((m) => {
      const d = dataOf(m).data;
      return [d.from, d.to, d.reason];
    });

function expectErrorEnvelope(s: SseClient, body: any, status: number, code: number) {
  expect(s.status).toBe(status);
  expect(s.headers['content-type']).toMatch(/^application\/json/);
  expect(body).toEqual({ request_id: expect.any(String), code, message: expect.any(String) });
  expect(body.message.length).toBeGreaterThan(0);
  expect(s.headers['x-request-id']).toBe(body.request_id);
}

/** Latencies gathered by the specs, written to test-output/ at the end. */
const figures: Record<string, unknown> = {};

describe('GET /client/relay/events (server-sent events)', () => {
  let t: TestApp;
  /** Streams opened on the shared app, closed after each spec. */
  let open: SseClient[] = [];

  /** Opens a stream on `app` (the shared app by default) and keeps it for closing. */
  async function stream(options: SseConnectOptions = {}, app: TestApp = t): Promise<SseClient> {
    const s = await SseClient.connect(app.baseUrl, EVENTS_PATH, options);
    open.push(s);
    return s;
  }

  beforeAll(async () => {
    t = await startTestApp(ENV);
  });
  afterEach(() => {
    for (const s of open) s.close();
    open = [];
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await t?.close();
    mkdirSync(join(__dirname, '..', '..', 'test-output'), { recursive: true });
    writeFileSync(
      join(__dirname, '..', '..', 'test-output', `streams-latency-${t.config.database.kind}.json`),
      JSON.stringify({ database: t.config.database.kind, ...figures }, null, 2),
    );
  });

  describe('the stream itself', () => {
    it('answers 200 as text/event-stream, echoing the request id', async () => {
      const a = await anchor(t);
      const s = await stream({ token: a.token, headers: { 'x-request-id': 'sse-req.1' } });
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(s.headers['x-request-id']).toBe('sse-req.1');
      // Nothing is sent that is not a comment or a retry hint until an event exists.
      await pause(200);
      expect(s.messages).toEqual([]);
      expect(s.ended).toBe(false);
    });
  });

  describe("an anchor's stream", () => {
    it('receives every event of its sessions as id: <event id>, event: <type>, data: <event JSON>', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const [si, sr] = await Promise.all([
        stream({ token: init.token }),
        stream({ token: recv.token }),
      ]);
      const relayId = await startRelay(t, init, recv);
      await act(t, relayId, 'extends', init, { extends: { topic: 'pk' } });
      await act(t, relayId, 'started', init);
      await act(t, relayId, 'started', recv);
      await act(t, relayId, 'stop', recv);

      const stored = await relayEvents(t, relayId);
      expect(stored.map((e) => e.type)).toEqual([
        'relay.status_changed',
        'relay.extends_updated',
        'relay.status_changed',
        'relay.status_changed',
        'relay.status_changed',
      ]);
      for (const s of [si, sr]) {
        await s.waitFor(stored.length);
        expect(frames(s)).toEqual(stored.map(expectedFrame));
        expect(s.messages.map((m) => JSON.parse(m.data).seq)).toEqual([1, 2, 3, 4, 5]);
        expect(moves(s)).toEqual([
          [null, 1, ''],
          [1, 2, ''],
          [2, 4, ''],
          [4, 6, 'stopped'],
        ]);
        // The JSON has exactly the contract's fields, occurred_at in ISO 8601 UTC.
        for (const m of s.messages) {
          const d = dataOf(m);
          expect(Object.keys(d).sort()).toEqual(
            ['app_id', 'data', 'id', 'occurred_at', 'relay_id', 'seq', 'type'].sort(),
          );
          expect(d.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        }
      }
    });

    it('shows the invited anchor the invitation (null -> 0), then accept, started and stop', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const sr = await stream({ token: recv.token });

      await startRelay(t, init, recv, 'invite');
      // The receiver learns of the invitation from the stream alone, and answers it.
      const invitation = dataOf(await sr.next((m) => m.event === 'relay.status_changed'));
      expect(invitation.data).toMatchObject({
        from: null,
        to: 0,
        reason: '',
        session: {
          status: 0,
          init_user_id: init.userId,
          init_room_id: init.liveId,
          recv_user_id: recv.userId,
          recv_room_id: recv.liveId,
        },
      });
      const relayId: string = invitation.relay_id;
      await act(t, relayId, 'accept', recv);
      await act(t, relayId, 'started', recv);
      await act(t, relayId, 'started', init);
      await act(t, relayId, 'stop', init);

      const stored = await relayEvents(t, relayId);
      await sr.waitFor(stored.length);
      expect(frames(sr)).toEqual(stored.map(expectedFrame));
      expect(moves(sr)).toEqual([
        [null, 0, ''],
        [0, 1, ''],
        [1, 3, ''],
        [3, 4, ''],
        [4, 6, 'stopped'],
      ]);
      expect(dataOf(sr.messages[sr.messages.length - 1]).data.session).toMatchObject({
        status: 6,
        stop_reason: 'stopped',
      });
    });

    it("never receives other users' sessions, nor events of another app", async () => {
      const me = await anchor(t);
      const partner = await anchor(t);
      const mine = await stream({ token: me.token });

      // The same user id in another app, with a session of its own there.
      const meElsewhere = await anchor(t, { userId: me.userId, appId: OTHER_APP });
      const otherAppPartner = await anchor(t, { appId: OTHER_APP });
      const mineElsewhere = await stream({ token: meElsewhere.token });

      const strangers = await relay(t);
      const otherApp = await startRelay(t, meElsewhere, otherAppPartner);
      await act(t, strangers.relayId, 'extends', strangers.init, { extends: { a: '1' } });
      await act(t, otherApp, 'extends', meElsewhere, { extends: { a: '1' } });
      await act(t, strangers.relayId, 'stop', strangers.recv);
      await act(t, otherApp, 'stop', otherAppPartner);
      // Then a session of mine in my app: when its events are in, the others would be too.
      const own = await startRelay(t, me, partner);
      await act(t, own, 'stop', me);

      const ownEvents = await relayEvents(t, own);
      await mine.waitFor(ownEvents.length);
      const otherAppEvents = await relayEvents(t, otherApp);
      await mineElsewhere.waitFor(otherAppEvents.length);
      await pause(300);
      expect(frames(mine)).toEqual(ownEvents.map(expectedFrame));
      expect(frames(mineElsewhere)).toEqual(otherAppEvents.map(expectedFrame));
      expect(otherAppEvents.every((e) => e.app_id === OTHER_APP)).toBe(true);
    });
  });

  describe('authentication', () => {
    it('accepts the token as ?access_token= on the stream', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const s = await stream({ query: { access_token: init.token } });
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
      const relayId = await startRelay(t, init, recv);
      const stored = await relayEvents(t, relayId);
      await s.waitFor(stored.length);
      expect(frames(s)).toEqual(stored.map(expectedFrame));
    });

    it('accepts a bare token without the word Bearer on the stream', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const s = await stream({ headers: { authorization: init.token } });
      expect(s.status).toBe(200);
      const relayId = await startRelay(t, init, recv);
      await s.waitFor(1);
      expect(relayOf(s.messages[0])).toBe(relayId);
    });

    it('does not accept ?access_token= on other client endpoints (401, nothing done)', async () => {
      const r = await relay(t);
      const q = `?access_token=${encodeURIComponent(r.init.token)}`;
      for (const [method, path] of [
        ['GET', `/client/relay/${r.relayId}`],
        ['GET', `/client/relay/${r.relayId}/token`],
        ['GET', '/client/relay'],
        ['POST', `/client/relay/${r.relayId}/stop`],
        ['GET', `/client/live/room/info/${r.init.liveId}`],
      ]) {
        const answer = await t.call(method, path + q);
        expect({ method, path, status: answer.status, body: answer.body }).toEqual({
          method,
          path,
          status: 401,
          body: { request_id: expect.any(String), code: 401, message: expect.any(String) },
        });
      }
      // The refused stop changed nothing.
      const session = expectOk(
        await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token }),
      );
      expect(session.status).toBe(1);
      expect(await relayEvents(t, r.relayId)).toHaveLength(1);
    });

    it('answers a request without a token with the 401 envelope', async () => {
      const s = await stream();
      expectErrorEnvelope(s, await s.json(), 401, 401);
      const empty = await stream({ query: { access_token: '' } });
      expectErrorEnvelope(empty, await empty.json(), 401, 401);
    });

    it('answers a badly signed token with 401 (header or query)', async () => {
      const forged = signClientToken('not-the-secret-of-this-server-000000', {
        appId: 'default',
        userId: uniqueUser(),
        expiresAt: Math.floor(Date.now() / 1000) + 600,
      });
      const viaHeader = await stream({ token: forged });
      expectErrorEnvelope(viaHeader, await viaHeader.json(), 401, 401);
      const viaQuery = await stream({ query: { access_token: forged } });
      expectErrorEnvelope(viaQuery, await viaQuery.json(), 401, 401);
      const garbage = await stream({ query: { access_token: 'not.a.jwt' } });
      expectErrorEnvelope(garbage, await garbage.json(), 401, 401);
    });

    it('answers an expired token with 401 code 499 (header or query)', async () => {
      const expired = tokenFor(t, uniqueUser(), {
        expiresAt: Math.floor(Date.now() / 1000) - 60,
      });
      const viaHeader = await stream({ token: expired });
      expectErrorEnvelope(viaHeader, await viaHeader.json(), 401, 499);
      const viaQuery = await stream({ query: { access_token: expired } });
      expectErrorEnvelope(viaQuery, await viaQuery.json(), 401, 499);
    });
  });

  describe('the audience (?room_id=)', () => {
    it("sees every event of the room's sessions and none of other rooms", async () => {
      const host = await anchor(t);
      const guest1 = await anchor(t);
      const guest2 = await anchor(t);
      const viewer = tokenFor(t, uniqueUser('viewer'));
      const s = await stream({ token: viewer, query: { room_id: host.liveId } });
      expect(s.status).toBe(200);

      const elsewhere = await relay(t); // other rooms, same app
      const first = await startRelay(t, host, guest1); // the room as initiator
      await act(t, elsewhere.relayId, 'extends', elsewhere.init, { extends: { x: 'y' } });
      await act(t, first, 'started', host);
      await act(t, first, 'stop', guest1);
      await act(t, elsewhere.relayId, 'stop', elsewhere.init);
      const second = await startRelay(t, guest2, host, 'invite'); // the room as receiver
      await act(t, second, 'reject', host);

      const expected = await storedEvents(t, first, second);
      expect(expected.length).toBe(5);
      await s.waitFor(expected.length);
      await pause(300);
      expect(frames(s)).toEqual(expected.map(expectedFrame));
    });

    it('answers 404 for a room that does not exist, or is of another app, instead of a silent stream', async () => {
      const host = await anchor(t);
      const unknown = await stream({
        token: tokenFor(t, uniqueUser('viewer')),
        query: { room_id: 'room_no_such_room' },
      });
      expectErrorEnvelope(unknown, await unknown.json(), 404, 404);
      const foreign = await stream({
        token: tokenFor(t, uniqueUser('viewer'), { appId: OTHER_APP }),
        query: { room_id: host.liveId },
      });
      const answer = await foreign.json();
      expectErrorEnvelope(foreign, answer, 404, 404);
      expect(answer.message).toBe(`room ${host.liveId} not found`);
    });
  });

  describe('reconnecting with Last-Event-ID', () => {
    it('header: replays exactly the missed events in order, then goes on live without repeats', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const first = await stream({ token: init.token });
      const relayId = await startRelay(t, init, recv);
      await act(t, relayId, 'extends', init, { extends: { round: '1' } });
      await first.waitFor(2);
      const lastSeen = Number(first.messages[1].id);
      first.close();

      // While disconnected: this session moves on, ends, a new one starts, and strangers act.
      const strangers = await relay(t);
      await act(t, relayId, 'extends', recv, { extends: { round: '2' } });
      await act(t, relayId, 'started', init);
      await act(t, relayId, 'stop', recv);
      await act(t, strangers.relayId, 'stop', strangers.init);
      const next = await startRelay(t, init, recv, 'invite');

      const missed = (await storedEvents(t, relayId, next)).filter((e) => e.id > lastSeen);
      expect(missed).toHaveLength(4);
      const again = await stream({ token: init.token, lastEventId: String(lastSeen) });
      expect(again.status).toBe(200);
      await again.waitFor(missed.length);
      expect(frames(again)).toEqual(missed.map(expectedFrame));

      // Then live, once each.
      await act(t, next, 'accept', recv);
      await act(t, next, 'stop', init);
      const all = (await storedEvents(t, relayId, next)).filter((e) => e.id > lastSeen);
      expect(all).toHaveLength(6);
      await again.waitFor(all.length);
      await pause(300);
      expect(frames(again)).toEqual(all.map(expectedFrame));
      // What the first connection saw plus what the second saw is the whole history.
      expect([...first.ids(), ...again.ids()]).toEqual(
        (await storedEvents(t, relayId, next)).map((e) => e.id),
      );
    });

    it('header: events made while the client reconnects arrive exactly once, in order', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const first = await stream({ token: init.token });
      const relayId = await startRelay(t, init, recv);
      await first.waitFor(1);
      const lastSeen = Number(first.messages[0].id);
      first.close();
      for (let i = 0; i < 5; i++) {
        await act(t, relayId, 'extends', init, { extends: { [`before${i}`]: String(i) } });
      }

      // The reconnect races a burst of changes: some are replayed, some come live.
      const burst = Array.from({ length: 20 }, (_, i) =>
        act(t, relayId, 'extends', i % 2 ? init : recv, { extends: { [`k${i}`]: String(i) } }),
      );
      const [again] = await Promise.all([
        stream({ token: init.token, lastEventId: String(lastSeen) }),
        ...burst,
      ]);
      const missed = (await relayEvents(t, relayId)).filter((e) => e.id > lastSeen);
      expect(missed).toHaveLength(25);
      await again.waitFor(missed.length);
      await pause(300);
      expect(again.ids()).toEqual(missed.map((e) => e.id));
      expect(frames(again)).toEqual(missed.map(expectedFrame));
    });

    it('last_event_id query: an audience stream replays the missed events, then goes on live', async () => {
      const host = await anchor(t);
      const guest = await anchor(t);
      const viewer = tokenFor(t, uniqueUser('viewer'));
      const first = await stream({ token: viewer, query: { room_id: host.liveId } });
      const relayId = await startRelay(t, guest, host);
      await first.waitFor(1);
      const lastSeen = Number(first.messages[0].id);
      first.close();

      await act(t, relayId, 'started', host);
      await act(t, relayId, 'extends', guest, { extends: { score: '3:1' } });
      await act(t, relayId, 'started', guest);
      const missed = (await relayEvents(t, relayId)).filter((e) => e.id > lastSeen);
      expect(missed).toHaveLength(3);

      // The way a browser without headers resumes: token and position in the query.
      const again = await stream({
        query: { room_id: host.liveId, access_token: viewer, last_event_id: lastSeen },
      });
      expect(again.status).toBe(200);
      await again.waitFor(missed.length);
      expect(frames(again)).toEqual(missed.map(expectedFrame));

      await act(t, relayId, 'stop', host);
      const all = (await relayEvents(t, relayId)).filter((e) => e.id > lastSeen);
      await again.waitFor(all.length);
      await pause(300);
      expect(frames(again)).toEqual(all.map(expectedFrame));

      // last_event_id=0: the room's whole history.
      const history = await stream({
        token: viewer,
        query: { room_id: host.liveId, last_event_id: 0 },
      });
      const everything = await relayEvents(t, relayId);
      await history.waitFor(everything.length);
      expect(frames(history)).toEqual(everything.map(expectedFrame));
    });

    it('does not lose an event whose transaction commits after a later event was replayed', async () => {
      // Event ids are allocated at INSERT, so on MySQL/MariaDB a slow transaction can hold id N
      // uncommitted while N+1 commits. Reproduced here by holding a lock that the slow change's
      // event insert waits for (after its id is taken). SQLite runs one writer at a time, so
      // there the slow change simply completes first and the same sequence runs unhindered.
      const mysql = t.config.database.kind !== 'sqlite';
      const me = await anchor(t);
      const myOtherRoom = await anchor(t, { userId: me.userId });
      const relays = [
        await startRelay(t, me, await anchor(t)),
        await startRelay(t, myOtherRoom, await anchor(t)),
      ];
      // The slow one sorts first, so the index gap its next event goes into ends at a record
      // (not at the end of the index) and the fast one's next event lies outside it.
      const [slowRelay, fastRelay] = relays.sort();
      const lastSeen = Math.max(...(await storedEvents(t, slowRelay, fastRelay)).map((e) => e.id));

      const hold = mysql ? t.dataSource.createQueryRunner() : undefined;
      let slow: Promise<number>;
      try {
        if (hold) {
          await hold.connect();
          await hold.startTransaction();
          // Locks the index gap where the slow relay's next event (relay_id, seq 2) goes.
          await hold.query('SELECT id FROM relay_event WHERE relay_id = ? AND seq > 1 FOR UPDATE', [
            slowRelay,
          ]);
        }
        slow = postAlone(t, `/client/relay/${slowRelay}/extends`, me.token, {
          extends: { slow: '1' },
        });
        if (hold) {
          // Its event insert (id taken) is waiting for the lock.
          await waitUntil('the slow insert to wait for the lock', async () => {
            const [row] = await t.dataSource.query(
              'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST ' +
                "WHERE INFO LIKE 'INSERT INTO relay_event%' AND INFO LIKE ?",
              [`%${slowRelay}%`],
            );
            return Number(row.n) > 0;
          });
        } else {
          await slow;
        }
        await act(t, fastRelay, 'extends', me, { extends: { fast: '1' } });

        // The client reconnects now, stays briefly, and drops again.
        const first = await stream({ token: me.token, lastEventId: String(lastSeen) });
        await pause(300);
        first.close();
        if (hold) await hold.rollbackTransaction();
        expect(await slow).toBe(200);

        const missed = (await storedEvents(t, slowRelay, fastRelay)).filter((e) => e.id > lastSeen);
        expect(missed.map((e) => e.relay_id)).toEqual([slowRelay, fastRelay]);

        // Reconnecting from the last id it received, the client must get the rest.
        const resumeFrom = first.ids().at(-1) ?? lastSeen;
        const second = await stream({ token: me.token, lastEventId: String(resumeFrom) });
        await second.waitFor(missed.length - first.messages.length, 3000).catch(() => undefined);
        await pause(300);
        expect([...first.ids(), ...second.ids()]).toEqual(missed.map((e) => e.id));
      } finally {
        if (hold?.isTransactionActive) await hold.rollbackTransaction();
        await hold?.release();
      }
    });

    it('answers a malformed Last-Event-ID or last_event_id with the 400 envelope', async () => {
      const a = await anchor(t);
      for (const bad of ['abc', '-1', '1.5', '12abc', '0x10']) {
        const viaHeader = await stream({ token: a.token, lastEventId: bad });
        expectErrorEnvelope(viaHeader, await viaHeader.json(), 400, 400);
        const viaQuery = await stream({ token: a.token, query: { last_event_id: bad } });
        expectErrorEnvelope(viaQuery, await viaQuery.json(), 400, 400);
      }
      const badRoom = await stream({ token: a.token, query: { room_id: 'no spaces allowed' } });
      expectErrorEnvelope(badRoom, await badRoom.json(), 400, 400);
    });
  });

  describe('latency', () => {
    it('an event reaches a stream on the node that made it within 100 ms', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const s = await stream({ token: init.token });
      const audience = await stream({
        token: tokenFor(t, uniqueUser('viewer')),
        query: { room_id: recv.liveId },
      });

      const fromResponse: number[] = [];
      const fromRequest: number[] = [];
      let seq = 0;
      const measure = async (change: () => Promise<unknown>, warmUp = false) => {
        const sent = performance.now();
        await change();
        const responded = performance.now();
        const expectedSeq = ++seq;
        const bySeq = (m: SseMessage) => dataOf(m).seq === expectedSeq;
        const [m, n] = await Promise.all([s.next(bySeq, 2000), audience.next(bySeq, 2000)]);
        if (warmUp) return;
        for (const arrived of [m.at, n.at]) {
          fromResponse.push(Math.max(0, arrived - responded));
          fromRequest.push(arrived - sent);
        }
      };

      let relayId = '';
      await measure(async () => (relayId = await startRelay(t, init, recv)), true);
      for (let i = 0; i < 10; i++) {
        await measure(() => act(t, relayId, 'extends', init, { extends: { [`n${i}`]: 'v' } }));
      }
      await measure(() => act(t, relayId, 'started', init));
      await measure(() => act(t, relayId, 'started', recv));
      await measure(() => act(t, relayId, 'stop', recv));

      const stored = await relayEvents(t, relayId);
      expect(s.ids()).toEqual(stored.map((e) => e.id));
      expect(audience.ids()).toEqual(stored.map((e) => e.id));
      figures.same_node_ms = {
        events: fromResponse.length / 2,
        streams: 2,
        max_after_response: round(Math.max(...fromResponse)),
        max_after_request: round(Math.max(...fromRequest)),
      };
      expect(Math.max(...fromResponse)).toBeLessThan(100);
    });
  });

  describe('two nodes on one database', () => {
    let b: TestApp;
    beforeAll(async () => {
      b = await startTestApp({ ...ENV, DATABASE_URL: t.databaseUrl });
    });
    afterAll(async () => {
      await b?.stop();
    });

    it('an event made on node A reaches streams on node B within 1 s, in order', async () => {
      const init = await anchor(t);
      const recv = await anchor(t);
      const onB = await stream({ token: init.token }, b);
      const audienceOnB = await stream(
        { token: tokenFor(b, uniqueUser('viewer')), query: { room_id: init.liveId } },
        b,
      );
      expect([onB.status, audienceOnB.status]).toEqual([200, 200]);

      const latencies: number[] = [];
      let seq = 0;
      const measure = async (change: () => Promise<unknown>) => {
        await change();
        const responded = performance.now();
        const expectedSeq = ++seq;
        const bySeq = (m: SseMessage) => dataOf(m).seq === expectedSeq;
        const arrived = await Promise.all([onB.next(bySeq, 3000), audienceOnB.next(bySeq, 3000)]);
        for (const m of arrived) latencies.push(Math.max(0, m.at - responded));
      };

      let relayId = '';
      await measure(async () => (relayId = await startRelay(t, init, recv)));
      for (let i = 0; i < 8; i++) {
        await measure(() => act(t, relayId, 'extends', recv, { extends: { [`m${i}`]: 'v' } }));
      }
      await measure(() => act(t, relayId, 'started', recv));
      await measure(() => act(t, relayId, 'started', init));
      await measure(() => act(t, relayId, 'stop', init));

      const stored = await relayEvents(t, relayId);
      expect(stored).toHaveLength(12);
      await Promise.all([onB.waitFor(stored.length), audienceOnB.waitFor(stored.length)]);
      await pause(300);
      expect(frames(onB)).toEqual(stored.map(expectedFrame));
      expect(frames(audienceOnB)).toEqual(stored.map(expectedFrame));
      figures.cross_node_ms = {
        events: stored.length,
        streams: 2,
        max_after_response: round(Math.max(...latencies)),
      };
      expect(Math.max(...latencies)).toBeLessThan(1000);
    });

    it('a client moving between nodes with Last-Event-ID gets every event exactly once', async () => {
      // As behind a load balancer: the client sees an event on the node that made it, loses
      // that connection and resumes on the other node, whose feed may not have reached it yet.
      const init = await anchor(t);
      const recv = await anchor(t);
      const nodes = [t, b];
      let current = await stream({ token: init.token }, t);
      const connections = [current];
      const relayId = await startRelay(t, init, recv);
      for (let round = 0; round < 6; round++) {
        const here = nodes[round % 2];
        const there = nodes[(round + 1) % 2];
        if (round > 0) {
          await act(here, relayId, 'extends', init, { extends: { [`r${round}`]: 'v' } });
        }
        const seq = round + 1;
        const seen = await current.next((m) => dataOf(m).seq === seq, 2000);
        current.close();
        current = await stream({ token: init.token, lastEventId: seen.id }, there);
        connections.push(current);
        await pause(400); // the other node's feed catches up in the meantime
      }
      const stored = await relayEvents(t, relayId);
      expect(stored).toHaveLength(6);
      expect(connections.flatMap((c) => c.ids())).toEqual(stored.map((e) => e.id));
    });
  });

  describe('many streams', () => {
    it('200 streams on one node, all watching one room, all receive each event', async () => {
      const host = await anchor(t);
      const guest = await anchor(t);
      const streams: SseClient[] = [];
      for (let batch = 0; batch < 4; batch++) {
        streams.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, () =>
              stream({ token: tokenFor(t, uniqueUser('fan')), query: { room_id: host.liveId } }),
            ),
          )),
        );
      }
      expect(streams.filter((s) => s.status !== 200)).toEqual([]);

      const relayId = await startRelay(t, host, guest);
      const responded = performance.now();
      await Promise.all(streams.map((s) => s.waitFor(1, 5000)));
      const firstLatency = Math.max(...streams.map((s) => s.messages[0].at - responded));
      await act(t, relayId, 'stop', guest);
      await Promise.all(streams.map((s) => s.waitFor(2, 5000)));

      const stored = await relayEvents(t, relayId);
      const expected = stored.map(expectedFrame);
      expect(streams.map(frames)).toEqual(streams.map(() => expected));
      figures.fan_out_200_streams_ms = { max_after_response: round(Math.max(0, firstLatency)) };
      expect(firstLatency).toBeLessThan(1000);
    });
  });

  describe('closing the app', () => {
    it('ends every open stream, with a final comment line before the end', async () => {
      const node = await startTestApp(ENV);
      const streams: SseClient[] = [];
      try {
        const init = await anchor(node);
        const recv = await anchor(node);
        streams.push(
          await SseClient.connect(node.baseUrl, EVENTS_PATH, { token: init.token }),
          await SseClient.connect(node.baseUrl, EVENTS_PATH, {
            token: tokenFor(node, uniqueUser('viewer')),
            query: { room_id: recv.liveId },
          }),
          await SseClient.connect(node.baseUrl, EVENTS_PATH, {
            query: { access_token: recv.token },
          }),
        );
        await startRelay(node, init, recv);
        await Promise.all(streams.map((s) => s.waitFor(1)));

        const stopping = performance.now();
        await node.stop();
        await Promise.all(streams.map((s) => s.waitForEnd(5000)));
        expect(performance.now() - stopping).toBeLessThan(10_000);
        for (const s of streams) {
          expect(s.ended).toBe(true);
          expect(s.endedCleanly).toBe(true);
          expect(s.messages).toHaveLength(1);
          const last = s.items[s.items.length - 1];
          expect(last.kind).toBe('comment');
          if (last.kind === 'comment') expect(last.comment.text.length).toBeGreaterThan(0);
        }
      } finally {
        for (const s of streams) s.close();
        await node.close();
      }
    });
  });

  // Runs alongside the specs above (it is idle for up to 15 s), on an app of its own.
  it.concurrent(
    'sends a keep-alive comment line on an idle stream within 16 s',
    async () => {
      const node = await startTestApp(ENV);
      let s: SseClient | undefined;
      try {
        const a = await anchor(node);
        s = await SseClient.connect(node.baseUrl, EVENTS_PATH, { token: a.token });
        expect(s.status).toBe(200);
        const comment = await s.waitForComment(16_000, s.connectedAt);
        const after = comment.at - s.connectedAt;
        figures.first_keep_alive_after_ms = round(after);
        expect(after).toBeLessThan(16_000);
        expect(s.messages).toEqual([]);
        expect(s.ended).toBe(false);
      } finally {
        s?.close();
        await node.close();
      }
    },
    40_000,
  );
});

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
