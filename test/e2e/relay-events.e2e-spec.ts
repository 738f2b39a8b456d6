/**
 * Domain events (docs/events.md), read straight from the relay_event table: one event
 * per committed change, none for a no-op or a refused request.
 */
import {
  anchor,
  Anchor,
  relay,
  RelayFixture,
  tokenFor,
  uniqueUser,
  NO_TIMERS,
  relayEvents,
  EventRow,
  statusMoves,
} from '../factories';
import { expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

const OTHER_APP = 'other_app';

describe('relay domain events', () => {
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

  const act = async (r: RelayFixture, action: string, who: Anchor, body?: unknown) =>
    expectOk(await post(r.relayId, action, who.token, body));

  async function session(relayId: string) {
    return expectOk(
      await t.call('GET', `/client/relay/${relayId}`, { token: tokenFor(t, 'reader') }),
    );
  }

  /** Runs `work` and expects it to add exactly one status_changed event, which it returns. */
  async function oneMove(r: RelayFixture, work: () => Promise<unknown>): Promise<EventRow> {
    const before = await events(r.relayId);
    const startedAt = Date.now();
    await work();
    const finishedAt = Date.now();
    const after = await events(r.relayId);
    expect(after).toHaveLength(before.length + 1);
    expect(after.slice(0, before.length)).toEqual(before);
    const added = after[after.length - 1];
    expect(added).toMatchObject({
      type: 'relay.status_changed',
      relay_id: r.relayId,
      app_id: 'default',
      seq: before.length + 1,
    });
    expect(added.occurred_at).toBeGreaterThanOrEqual(startedAt);
    expect(added.occurred_at).toBeLessThanOrEqual(finishedAt);
    expect(Object.keys(added.data).sort()).toEqual(['from', 'reason', 'session', 'to']);
    // The snapshot is the session as that change left it.
    expect(added.data.session).toEqual(await session(r.relayId));
    return added;
  }

  async function expectNoEvent(r: RelayFixture, work: () => Promise<unknown>) {
    const before = await events(r.relayId);
    await work();
    expect(await events(r.relayId)).toEqual(before);
  }

  describe('creating a relay', () => {
    it('an auto relay records one relay.status_changed from null to 1', async () => {
      const startedAt = Date.now();
      const r = await relay(t);
      const finishedAt = Date.now();
      const rows = await events(r.relayId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        type: 'relay.status_changed',
        relay_id: r.relayId,
        app_id: 'default',
        seq: 1,
        data: { from: null, to: 1, reason: '' },
      });
      expect(rows[0].occurred_at).toBeGreaterThanOrEqual(startedAt);
      expect(rows[0].occurred_at).toBeLessThanOrEqual(finishedAt);
      expect(rows[0].data.session).toEqual(await session(r.relayId));
    });

    it('an invitation records one relay.status_changed from null to 0', async () => {
      const r = await relay(t, { mode: 'invite', extends: { a: '1' }, duration_s: 120 });
      const rows = await events(r.relayId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        type: 'relay.status_changed',
        seq: 1,
        data: { from: null, to: 0, reason: '' },
      });
      expect(rows[0].data.session).toMatchObject({
        relay_id: r.relayId,
        status: 0,
        extends: { a: '1' },
        duration_s: 120,
      });
    });

    it("a relay of another app records that app's app_id", async () => {
      const a = await anchor(t, { appId: OTHER_APP });
      const b = await anchor(t, { appId: OTHER_APP });
      const answer = await t.call('POST', '/client/relay/start', {
        token: a.token,
        body: { init_room_id: a.liveId, recv_room_id: b.liveId, recv_user_id: b.userId },
      });
      const rows = await events(expectOk(answer).relay_id);
      expect(rows).toHaveLength(1);
      expect(rows[0].app_id).toBe(OTHER_APP);
      expect(rows[0].data.session.app_id).toBe(OTHER_APP);
    });

    it('a refused start records nothing', async () => {
      const r = await relay(t);
      const c = await anchor(t);
      const before: number = (await t.dataSource.query('SELECT COUNT(*) AS n FROM relay_event'))[0]
        .n;
      const answer = await t.call('POST', '/client/relay/start', {
        token: c.token,
        body: { init_room_id: c.liveId, recv_room_id: r.recv.liveId, recv_user_id: r.recv.userId },
      });
      expect(answer.body.code).toBe(601);
      const after: number = (await t.dataSource.query('SELECT COUNT(*) AS n FROM relay_event'))[0]
        .n;
      expect(Number(after)).toBe(Number(before));
    });
  });

  describe('every move records one event with from, to, reason and the session', () => {
    it('accept: 0 -> 1', async () => {
      const r = await relay(t, { mode: 'invite' });
      const e = await oneMove(r, () => act(r, 'accept', r.recv));
      expect(e.data).toMatchObject({ from: 0, to: 1, reason: '', session: { status: 1 } });
      expect(e.data.session.start_at).not.toBeNull();
    });

    it('reject: 0 -> 5 with reason rejected', async () => {
      const r = await relay(t, { mode: 'invite' });
      const e = await oneMove(r, () => act(r, 'reject', r.recv));
      expect(e.data).toMatchObject({
        from: 0,
        to: 5,
        reason: 'rejected',
        session: { status: 5, stop_reason: 'rejected' },
      });
    });

    it('started: 1 -> 2, then 2 -> 4', async () => {
      const r = await relay(t);
      expect((await oneMove(r, () => act(r, 'started', r.init))).data).toMatchObject({
        from: 1,
        to: 2,
        reason: '',
      });
      expect((await oneMove(r, () => act(r, 'started', r.recv))).data).toMatchObject({
        from: 2,
        to: 4,
        reason: '',
      });
    });

    it('started: 1 -> 3, then 3 -> 4', async () => {
      const r = await relay(t);
      expect((await oneMove(r, () => act(r, 'started', r.recv))).data).toMatchObject({
        from: 1,
        to: 3,
        reason: '',
      });
      expect((await oneMove(r, () => act(r, 'started', r.init))).data).toMatchObject({
        from: 3,
        to: 4,
        reason: '',
      });
    });

    it('stop from 0 by the initiator: 0 -> 6 with reason cancelled', async () => {
      const r = await relay(t, { mode: 'invite' });
      const e = await oneMove(r, () => act(r, 'stop', r.init));
      expect(e.data).toMatchObject({ from: 0, to: 6, reason: 'cancelled' });
      expect(e.data.session).toMatchObject({ status: 6, stop_reason: 'cancelled' });
    });

    it('stop from 0 by the receiver: 0 -> 6 with reason stopped', async () => {
      const r = await relay(t, { mode: 'invite' });
      const e = await oneMove(r, () => act(r, 'stop', r.recv));
      expect(e.data).toMatchObject({ from: 0, to: 6, reason: 'stopped' });
    });

    it('stop from 1-4: -> 6 with reason stopped', async () => {
      const r1 = await relay(t);
      expect((await oneMove(r1, () => act(r1, 'stop', r1.recv))).data).toMatchObject({
        from: 1,
        to: 6,
        reason: 'stopped',
      });
      const r4 = await relay(t);
      await act(r4, 'started', r4.recv);
      await act(r4, 'started', r4.init);
      const e = await oneMove(r4, () => act(r4, 'stop', r4.init));
      expect(e.data).toMatchObject({ from: 4, to: 6, reason: 'stopped' });
      expect(e.data.session.stop_at).not.toBeNull();
    });

    it('a room stopping: -> 6 with reason room_stopped', async () => {
      const r = await relay(t);
      const e = await oneMove(r, () =>
        t.call('DELETE', `/client/live/room/${r.init.liveId}`, { token: r.init.token }),
      );
      expect(e.data).toMatchObject({ from: 1, to: 6, reason: 'room_stopped' });
    });
  });

  describe('ordering', () => {
    it('seq counts 1, 2, 3... within each relay', async () => {
      const r = await relay(t, { mode: 'invite' });
      await act(r, 'accept', r.recv);
      await act(r, 'extends', r.init, { extends: { a: '1' } });
      await act(r, 'started', r.init);
      await act(r, 'started', r.recv);
      await act(r, 'extends', r.recv, { extends: { a: null } });
      await act(r, 'stop', r.recv);
      const rows = await events(r.relayId);
      expect(rows.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(rows.map((e) => e.type)).toEqual([
        'relay.status_changed',
        'relay.status_changed',
        'relay.extends_updated',
        'relay.status_changed',
        'relay.status_changed',
        'relay.extends_updated',
        'relay.status_changed',
      ]);
      expect(statusMoves(rows)).toEqual([
        [null, 0, ''],
        [0, 1, ''],
        [1, 2, ''],
        [2, 4, ''],
        [4, 6, 'stopped'],
      ]);
    });

    it('ids increase over the whole log, across interleaved relays', async () => {
      const a = await relay(t);
      const b = await relay(t);
      await act(a, 'started', a.init);
      await act(b, 'started', b.recv);
      await act(a, 'started', a.recv);
      await act(b, 'stop', b.init);
      const [ea, eb] = [await events(a.relayId), await events(b.relayId)];
      expect(ea.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(eb.map((e) => e.seq)).toEqual([1, 2, 3]);
      const order = [ea[0], eb[0], ea[1], eb[1], ea[2], eb[2]].map((e) => e.id);
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1]);
      for (const rows of [ea, eb]) {
        for (let i = 1; i < rows.length; i++) {
          expect(rows[i].occurred_at).toBeGreaterThanOrEqual(rows[i - 1].occurred_at);
        }
      }
    });
  });

  describe('extends changes', () => {
    it('record relay.extends_updated with only the changed keys and the session', async () => {
      const r = await relay(t, { extends: { a: '1', b: '2', c: '3' } });
      const startedAt = Date.now();
      // a is unchanged, c is set to what it already is, gone does not exist: none of them changed.
      await act(r, 'extends', r.init, {
        extends: { a: '1', b: '20', c: '3', d: '4', gone: null },
      });
      const rows = await events(r.relayId);
      expect(rows).toHaveLength(2);
      expect(rows[1]).toMatchObject({
        type: 'relay.extends_updated',
        relay_id: r.relayId,
        app_id: 'default',
        seq: 2,
      });
      expect(rows[1].occurred_at).toBeGreaterThanOrEqual(startedAt);
      expect(Object.keys(rows[1].data).sort()).toEqual(['changed', 'session']);
      expect(rows[1].data.changed).toEqual({ b: '20', d: '4' });
      expect(rows[1].data.session.extends).toEqual({ a: '1', b: '20', c: '3', d: '4' });
      expect(rows[1].data.session).toEqual(await session(r.relayId));
    });

    it('a deletion records the key with null', async () => {
      const r = await relay(t, { extends: { a: '1', b: '2' } });
      await act(r, 'extends', r.recv, { extends: { a: null, b: '2' } });
      const rows = await events(r.relayId);
      expect(rows).toHaveLength(2);
      expect(rows[1].data.changed).toEqual({ a: null });
      expect(rows[1].data.session.extends).toEqual({ b: '2' });
    });
  });

  describe('no-ops record nothing', () => {
    it('a repeated started (2 stays 2, 3 stays 3, 4 stays 4)', async () => {
      const r = await relay(t);
      await act(r, 'started', r.init);
      await expectNoEvent(r, () => act(r, 'started', r.init));
      await act(r, 'started', r.recv);
      await expectNoEvent(r, async () => {
        await act(r, 'started', r.init);
        await act(r, 'started', r.recv);
      });
      const r3 = await relay(t);
      await act(r3, 'started', r3.recv);
      await expectNoEvent(r3, () => act(r3, 'started', r3.recv));
    });

    it('a repeated stop, and a stop on 5', async () => {
      const r = await relay(t);
      await act(r, 'stop', r.init);
      await expectNoEvent(r, async () => {
        await act(r, 'stop', r.init);
        await act(r, 'stop', r.recv);
      });
      const rejected = await relay(t, { mode: 'invite' });
      await act(rejected, 'reject', rejected.recv);
      await expectNoEvent(rejected, () => act(rejected, 'stop', rejected.init));
    });

    it('a repeated accept and a repeated reject', async () => {
      const r = await relay(t, { mode: 'invite' });
      await act(r, 'accept', r.recv);
      await expectNoEvent(r, () => act(r, 'accept', r.recv));
      const rejected = await relay(t, { mode: 'invite' });
      await act(rejected, 'reject', rejected.recv);
      await expectNoEvent(rejected, () => act(rejected, 'reject', rejected.recv));
    });

    it('an extends that changes nothing', async () => {
      const r = await relay(t, { extends: { a: '1' } });
      await expectNoEvent(r, async () => {
        await act(r, 'extends', r.init, { extends: { a: '1' } });
        await act(r, 'extends', r.init, { extends: { missing: null } });
        await act(r, 'extends', r.recv, { extends: {} });
      });
    });
  });

  describe('refused requests record nothing', () => {
    const refused = async (answer: Promise<HttpAnswer>, code: number) =>
      expect((await answer).body.code).toBe(code);

    it('601: started, accept, reject and extends in a status that refuses them', async () => {
      const invite = await relay(t, { mode: 'invite' });
      await expectNoEvent(invite, () =>
        refused(post(invite.relayId, 'started', invite.init.token), 601),
      );
      const agreed = await relay(t);
      await expectNoEvent(agreed, () =>
        refused(post(agreed.relayId, 'reject', agreed.recv.token), 601),
      );
      const ended = await relay(t);
      await act(ended, 'stop', ended.init);
      await expectNoEvent(ended, async () => {
        await refused(post(ended.relayId, 'accept', ended.recv.token), 601);
        await refused(post(ended.relayId, 'started', ended.recv.token), 601);
        await refused(post(ended.relayId, 'reject', ended.recv.token), 601);
        await refused(
          post(ended.relayId, 'extends', ended.init.token, { extends: { a: 'b' } }),
          601,
        );
      });
    });

    it('403: a stranger, or the initiator accepting or rejecting', async () => {
      const r = await relay(t, { mode: 'invite' });
      const stranger = tokenFor(t, uniqueUser('stranger'));
      await expectNoEvent(r, async () => {
        await refused(post(r.relayId, 'accept', r.init.token), 403);
        await refused(post(r.relayId, 'reject', r.init.token), 403);
        for (const action of ['accept', 'reject', 'started', 'stop']) {
          await refused(post(r.relayId, action, stranger), 403);
        }
        await refused(post(r.relayId, 'extends', stranger, { extends: { a: 'b' } }), 403);
      });
    });

    it('400: an extends that would exceed 32 keys', async () => {
      const map: Record<string, string> = {};
      for (let i = 0; i < 32; i++) map[`k${i}`] = 'v';
      const r = await relay(t, { extends: map });
      await expectNoEvent(r, () =>
        refused(post(r.relayId, 'extends', r.init.token, { extends: { one: 'more' } }), 400),
      );
    });
  });
});
