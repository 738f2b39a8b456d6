/**
 * GET /client/relay/{relay_id}/events (docs/events.md, "History"): one relay's events in seq
 * order, a page at a time with `after` and `limit`, for any user of its app; 404 for another
 * app's relay, 400 for a malformed `after` or `limit`. The event stream on /client/relay/events
 * still answers beside it.
 */
import {
  anchor,
  relay,
  RelayFixture,
  relayEvents,
  tokenFor,
  uniqueUser,
  NO_TIMERS,
} from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';

describe('GET /client/relay/{relay_id}/events', () => {
  let t: TestApp;
  let r: RelayFixture;

  beforeAll(async () => {
    t = await startTestApp({ ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' });
    r = await relay(t, { mode: 'invite' });
    const other = await relay(t);
    // Events of two relays interleave in the log; the history holds only its own.
    for (let i = 0; i < 3; i++) {
      for (const [id, token] of [
        [r.relayId, r.init.token],
        [other.relayId, other.init.token],
      ]) {
        const answer = await t.call('POST', `/client/relay/${id}/extends`, {
          token,
          body: { extends: { round: String(i) } },
        });
        expect(answer.status).toBe(200);
      }
    }
    expect(
      (await t.call('POST', `/client/relay/${r.relayId}/accept`, { token: r.recv.token })).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  const history = (query: string, token = r.init.token, relayId = r.relayId) =>
    t.call('GET', `/client/relay/${relayId}/events${query}`, { token });

  it('lists every event of the relay in seq order, as the stream sends them', async () => {
    const stored = await relayEvents(t, r.relayId);
    expect(stored).toHaveLength(5);
    const answer = await history('');
    expect(answer.status).toBe(200);
    const { list, next_cursor } = answer.body.data;
    expect(next_cursor).toBeNull();
    expect(list.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(list).toEqual(
      stored.map((e) => ({
        id: e.id,
        type: e.type,
        relay_id: r.relayId,
        app_id: 'default',
        seq: e.seq,
        occurred_at: new Date(e.occurred_at).toISOString(),
        data: e.data,
      })),
    );
    expect(list[0].data).toMatchObject({ from: null, to: 0, reason: '' });
    expect(list[1]).toMatchObject({
      type: 'relay.extends_updated',
      data: { changed: { round: '0' } },
    });
    expect(list[4]).toMatchObject({ type: 'relay.status_changed', data: { from: 0, to: 1 } });
  });

  it('pages with limit and after, next_cursor null on the last page', async () => {
    const stored = await relayEvents(t, r.relayId);
    const seen: number[] = [];
    const cursors: (string | null)[] = [];
    let after = '';
    for (;;) {
      const answer = await history(`?limit=2&after=${after}`);
      expect(answer.status).toBe(200);
      const { list, next_cursor } = answer.body.data;
      seen.push(...list.map((e: { seq: number }) => e.seq));
      cursors.push(next_cursor);
      if (next_cursor === null) break;
      expect(next_cursor).toBe(String(list[list.length - 1].id));
      after = next_cursor;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(cursors).toEqual([String(stored[1].id), String(stored[3].id), null]);
    const exact = await history(`?limit=5`);
    expect(exact.body.data.next_cursor).toBeNull();
    const rest = await history(`?after=${stored[4].id}`);
    expect(rest.body.data).toEqual({ list: [], next_cursor: null });
    const one = await history(`?limit=1&after=${stored[2].id}`);
    expect(one.body.data.list.map((e: { seq: number }) => e.seq)).toEqual([4]);
  });

  it('answers any user of the app, and 404 for another app or an unknown relay', async () => {
    const bystander = tokenFor(t, uniqueUser('viewer'));
    const seen = await history('', bystander);
    expect(seen.status).toBe(200);
    expect(seen.body.data.list).toHaveLength(5);
    const otherApp = tokenFor(t, r.init.userId, { appId: 'other_app' });
    expect(await history('', otherApp)).toMatchObject({ status: 404, body: { code: 404 } });
    expect(await history('', r.init.token, 'relay_missing')).toMatchObject({
      status: 404,
      body: { code: 404 },
    });
  });

  it.each([
    '?after=0',
    '?after=abc',
    '?after=-1',
    '?after=1.5',
    '?limit=0',
    '?limit=101',
    '?limit=x',
  ])('refuses %s (400)', async (query) => {
    const answer = await history(query);
    expect(answer).toMatchObject({ status: 400, body: { code: 400 } });
    expect(answer.body.message).toMatch(/after|limit/);
  });

  it('leaves the event stream route where it was', async () => {
    const answer = await t.call('GET', '/client/relay/events');
    expect(answer).toMatchObject({ status: 401, body: { code: 401 } });
    const a = await anchor(t);
    expect((await history('', a.token, 'events')).status).toBe(404);
  });
});
