/**
 * Races over real HTTP (docs/concepts.md, docs/events.md): concurrent requests must serialise into
 * allowed moves, never a 500, with one event per committed change and rooms claimed at most once.
 */
import {
  anchor,
  Anchor,
  relay,
  RelayFixture,
  EventRow,
  NO_TIMERS,
  relayEvents,
} from '../factories';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

/** Status and code of each answer, so a failure shows what every racer got. */
const outcomes = (answers: HttpAnswer[]) =>
  answers.map((a) => ({ status: a.status, code: a.body?.code, message: a.body?.message }));

describe('relay concurrency', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(NO_TIMERS);
  });
  afterAll(async () => {
    await t?.close();
  });

  const events = (relayId: string) => relayEvents(t, relayId);

  const post = (relayId: string, action: string, token: string, body?: unknown) =>
    t.call('POST', `/client/relay/${relayId}/${action}`, { token, body });

  const start = (init: Anchor, recv: Anchor) =>
    t.call('POST', '/client/relay/start', {
      token: init.token,
      body: { init_room_id: init.liveId, recv_room_id: recv.liveId, recv_user_id: recv.userId },
    });

  async function session(r: RelayFixture) {
    const answer = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.init.token });
    expect(answer.status).toBe(200);
    return answer.body.data;
  }

  async function pkId(a: Anchor): Promise<string> {
    const answer = await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token });
    expect(answer.status).toBe(200);
    return answer.body.data.pk_id;
  }

  /** seq is 1..n without gaps and every status event starts where the previous one ended. */
  function expectConsistentLog(rows: EventRow[]) {
    expect(rows.map((e) => e.seq)).toEqual(rows.map((_, i) => i + 1));
    const statusEvents = rows.filter((e) => e.type === 'relay.status_changed');
    expect(statusEvents[0].data.from).toBeNull();
    for (let i = 1; i < statusEvents.length; i++) {
      expect(statusEvents[i].data.from).toBe(statusEvents[i - 1].data.to);
    }
    for (let i = 1; i < rows.length; i++) expect(rows[i].id).toBeGreaterThan(rows[i - 1].id);
  }

  it('both anchors report started at the same moment: every relay ends at 4 with exactly 3 status events', async () => {
    const relays = await Promise.all(Array.from({ length: 20 }, () => relay(t)));
    const answers = await Promise.all(
      relays.map((r) =>
        Promise.all([
          post(r.relayId, 'started', r.init.token),
          post(r.relayId, 'started', r.recv.token),
        ]),
      ),
    );
    expect(outcomes(answers.flat()).filter((o) => o.status !== 200)).toEqual([]);
    for (const [i, r] of relays.entries()) {
      // One of the two saw 1 and answered 2 or 3; the other answered 4.
      expect(answers[i].map((a) => a.body.data.relay_status).sort()).toEqual(
        answers[i].some((a) => a.body.data.relay_status === 2) ? [2, 4] : [3, 4],
      );
      expect((await session(r)).status).toBe(4);
      const rows = await events(r.relayId);
      expect(rows.map((e) => e.type)).toEqual(Array(3).fill('relay.status_changed'));
      const [created, first, both] = rows.map((e) => e.data);
      expect([created.from, created.to]).toEqual([null, 1]);
      expect(first.from).toBe(1);
      expect([2, 3]).toContain(first.to);
      expect([both.from, both.to]).toEqual([first.to, 4]);
      expectConsistentLog(rows);
    }
  });

  it('10 initiators race to start a relay with the same receiver room: exactly one wins', async () => {
    const recv = await anchor(t);
    const inits = await Promise.all(Array.from({ length: 10 }, () => anchor(t)));
    const answers = await Promise.all(inits.map((init) => start(init, recv)));
    const o = outcomes(answers);
    expect(o.filter((x) => x.status === 200)).toHaveLength(1);
    expect(o.filter((x) => x.status !== 200)).toEqual(
      Array(9).fill({ status: 409, code: 601, message: expect.any(String) }),
    );
    const winner = answers.findIndex((a) => a.status === 200);
    const relayId: string = answers[winner].body.data.relay_id;
    expect(await pkId(recv)).toBe(relayId);
    for (const [i, init] of inits.entries()) {
      expect(await pkId(init)).toBe(i === winner ? relayId : '');
    }
    const rows: { n: number }[] = await t.dataSource.query(
      'SELECT COUNT(*) AS n FROM relay_session WHERE recv_room_id = ?',
      [recv.liveId],
    );
    expect(Number(rows[0].n)).toBe(1);
    expect(await events(relayId)).toHaveLength(1);
  });

  it('two opposite starts A -> B and B -> A at once: exactly one succeeds, no 500', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([anchor(t), anchor(t)]);
      const answers = await Promise.all([start(a, b), start(b, a)]);
      const o = outcomes(answers);
      expect(o.map((x) => x.status).sort()).toEqual([200, 409]);
      expect(o.find((x) => x.status === 409)?.code).toBe(601);
      const relayId: string = answers.find((x) => x.status === 200)?.body.data.relay_id;
      expect(await pkId(a)).toBe(relayId);
      expect(await pkId(b)).toBe(relayId);
      const rows: { n: number }[] = await t.dataSource.query(
        'SELECT COUNT(*) AS n FROM relay_session WHERE init_room_id IN (?, ?)',
        [a.liveId, b.liveId],
      );
      expect(Number(rows[0].n)).toBe(1);
    }
  });

  it('20 parallel extends of different keys on one relay: all keys survive, 20 events with distinct seqs', async () => {
    const r = await relay(t, { extends: { base: '0' } });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(r.relayId, 'extends', (i % 2 === 0 ? r.init : r.recv).token, {
          extends: { [`key_${i}`]: `value_${i}` },
        }),
      ),
    );
    expect(outcomes(answers).filter((o) => o.status !== 200)).toEqual([]);
    const expected: Record<string, string> = { base: '0' };
    for (let i = 0; i < 20; i++) expected[`key_${i}`] = `value_${i}`;
    expect((await session(r)).extends).toEqual(expected);
    for (const [i, a] of answers.entries()) {
      expect(a.body.data.extends[`key_${i}`]).toBe(`value_${i}`);
    }
    const rows = (await events(r.relayId)).filter((e) => e.type === 'relay.extends_updated');
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((e) => e.seq)).size).toBe(20);
    expect(rows.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(rows.map((e) => Object.keys(e.data.changed)[0]).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `key_${i}`).sort(),
    );
    expectConsistentLog(await events(r.relayId));
  });

  it('concurrent stop, started, accept and extends never answer 500 and end consistent', async () => {
    const relays = await Promise.all(
      Array.from({ length: 10 }, (_, i) => relay(t, { mode: i % 2 === 0 ? 'invite' : 'auto' })),
    );
    const answers = await Promise.all(
      relays.map((r, i) => {
        const stopper = i % 3 === 0 ? r.recv : r.init;
        return Promise.all([
          post(r.relayId, 'accept', r.recv.token),
          post(r.relayId, 'started', r.init.token),
          post(r.relayId, 'started', r.recv.token),
          post(r.relayId, 'extends', r.init.token, { extends: { k: String(i) } }),
          post(r.relayId, 'stop', stopper.token),
          t.call('GET', `/client/relay/${r.relayId}/token`, { token: r.recv.token }),
          post(r.relayId, 'accept', r.recv.token),
          post(r.relayId, 'started', r.init.token),
        ]);
      }),
    );
    const all = outcomes(answers.flat());
    expect(all.filter((o) => o.status >= 500)).toEqual([]);
    expect(all.filter((o) => !(o.status === 200 || (o.status === 409 && o.code === 601)))).toEqual(
      [],
    );
    for (const [i, r] of relays.entries()) {
      // The stop always succeeds, so every relay ends, and ends holding no room.
      expect(answers[i][4].status).toBe(200);
      const s = await session(r);
      expect(s.status).toBe(6);
      expect(['stopped', 'cancelled']).toContain(s.stop_reason);
      expect(s.stop_at).not.toBeNull();
      expect(await pkId(r.init)).toBe('');
      expect(await pkId(r.recv)).toBe('');
      const rows = await events(r.relayId);
      expectConsistentLog(rows);
      const statusEvents = rows.filter((e) => e.type === 'relay.status_changed');
      const last = statusEvents[statusEvents.length - 1];
      expect(last.data).toMatchObject({ to: 6, reason: s.stop_reason });
      // cancelled exactly when the initiator stopped it at 0; start_at set exactly if it reached 1.
      const initStopped = i % 3 !== 0;
      expect(s.stop_reason).toBe(last.data.from === 0 && initStopped ? 'cancelled' : 'stopped');
      expect(s.start_at !== null).toBe(statusEvents.some((e) => e.data.to === 1));
    }
  });
});
