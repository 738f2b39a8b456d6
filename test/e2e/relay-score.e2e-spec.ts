/**
 * PK scores (docs/concepts.md, "Scores"): the score call's rules, its events, gifts counted
 * once, the scores and winner on every view, notifications, and concurrent gifts on three nodes
 * adding up exactly.
 * Writes the concurrency figures to test-output/ for the closing note.
 */
import { writeFigures } from '../utils/test-output';
import { NO_TIMERS, relay, RelayFixture, relayEvents, serverCall, tokenFor } from '../factories';
import { openStream } from '../utils/sse-client';
import { startWebhookReceiver, verifySignature } from '../utils/webhook-receiver';
import { expectError, expectOk } from '../utils/assertions';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';
import { pause } from '../utils/wait';

interface ScoreBody {
  room_id?: unknown;
  delta?: unknown;
  score?: unknown;
  score_id?: unknown;
}

/** POST /server/relay/{relay_id}/score on `node`, signed as the Qiniu SDKs sign a JSON body. */
function score(node: TestApp, relayId: string, body: ScoreBody): Promise<HttpAnswer> {
  return serverCall(node, 'POST', `/server/relay/${relayId}/score`, body);
}

const scoreEvents = async (t: TestApp, relayId: string) =>
  (await relayEvents(t, relayId)).filter((e) => e.type === 'relay.score_changed');

describe('PK scores', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(NO_TIMERS);
  });
  afterAll(async () => {
    await t?.close();
  });

  const read = async (relayId: string) =>
    expectOk(await t.call('GET', `/client/relay/${relayId}`, { token: tokenFor(t, 'reader') }));

  describe('on every session view', () => {
    it('starts both rooms at 0 with no winner, in GET, the list and the server GET', async () => {
      const r = await relay(t);
      const expected = {
        scores: { [r.init.liveId]: 0, [r.recv.liveId]: 0 },
        winner_room_id: '',
      };
      expect(await read(r.relayId)).toMatchObject(expected);
      const list = expectOk(await t.call('GET', '/client/relay', { token: r.recv.token }));
      expect(list.list).toEqual([expect.objectContaining({ relay_id: r.relayId, ...expected })]);
      expect(expectOk(await serverCall(t, 'GET', `/server/relay/${r.relayId}`))).toMatchObject(
        expected,
      );
      const [created] = await relayEvents(t, r.relayId);
      expect(created.data.session).toMatchObject(expected);
    });
  });

  describe('changes', () => {
    let r: RelayFixture;
    beforeEach(async () => {
      r = await relay(t);
    });

    it('adds a delta and replaces with a score, answering the new scores', async () => {
      const [a, b] = [r.init.liveId, r.recv.liveId];
      expect(expectOk(await score(t, r.relayId, { room_id: a, delta: 5 }))).toEqual({
        relay_id: r.relayId,
        scores: { [a]: 5, [b]: 0 },
        duplicate: false,
        battle: null,
      });
      expectOk(await score(t, r.relayId, { room_id: b, delta: -3 }));
      expect(expectOk(await score(t, r.relayId, { room_id: a, score: 1_000_000_000_000 }))).toEqual(
        {
          relay_id: r.relayId,
          scores: { [a]: 1_000_000_000_000, [b]: -3 },
          duplicate: false,
          battle: null,
        },
      );
      expect(await read(r.relayId)).toMatchObject({
        scores: { [a]: 1_000_000_000_000, [b]: -3 },
        winner_room_id: '',
      });
    });

    it('records relay.score_changed per change, with delta = new - old and the session', async () => {
      const [a, b] = [r.init.liveId, r.recv.liveId];
      expectOk(await score(t, r.relayId, { room_id: a, delta: 7, score_id: 'gift_1' }));
      expectOk(await score(t, r.relayId, { room_id: a, score: 2 }));
      const events = await relayEvents(t, r.relayId);
      expect(events.map((e) => [e.type, e.seq])).toEqual([
        ['relay.status_changed', 1],
        ['relay.score_changed', 2],
        ['relay.score_changed', 3],
      ]);
      expect(events[1].data).toEqual({
        room_id: a,
        delta: 7,
        score_id: 'gift_1',
        scores: { [a]: 7, [b]: 0 },
        battle: null,
        session: expect.objectContaining({ scores: { [a]: 7, [b]: 0 }, winner_room_id: '' }),
      });
      expect(events[2].data).toMatchObject({
        room_id: a,
        delta: -5,
        score_id: '',
        scores: { [a]: 2 },
      });
      expect(events[2].data.session).toEqual(await read(r.relayId));
      // Setting the score a room already has is no change: answered, but no event.
      expect(expectOk(await score(t, r.relayId, { room_id: a, score: 2 }))).toEqual({
        relay_id: r.relayId,
        scores: { [a]: 2, [b]: 0 },
        duplicate: false,
        battle: null,
      });
      expect(await relayEvents(t, r.relayId)).toEqual(events);
    });

    it('counts a score_id once: a repeat is a duplicate that changes nothing, records nothing', async () => {
      const [a, b] = [r.init.liveId, r.recv.liveId];
      expectOk(await score(t, r.relayId, { room_id: a, delta: 10, score_id: 'gift:42' }));
      const before = await relayEvents(t, r.relayId);
      for (const body of [
        { room_id: a, delta: 10, score_id: 'gift:42' },
        // The id decides, not the body: the gift system's id of one gift.
        { room_id: b, score: 99, score_id: 'gift:42' },
      ]) {
        expect(expectOk(await score(t, r.relayId, body))).toEqual({
          relay_id: r.relayId,
          scores: { [a]: 10, [b]: 0 },
          duplicate: true,
          battle: null,
        });
      }
      expect(await relayEvents(t, r.relayId)).toEqual(before);
      // The same id on another relay is another gift.
      const other = await relay(t);
      expect(
        expectOk(
          await score(t, other.relayId, {
            room_id: other.init.liveId,
            delta: 1,
            score_id: 'gift:42',
          }),
        ),
      ).toMatchObject({ duplicate: false, scores: { [other.init.liveId]: 1 } });
      // A retry after the end is still the same gift, while a room of another relay is not.
      expectOk(await serverCall(t, 'POST', `/server/relay/${r.relayId}/stop`));
      expect(
        expectOk(await score(t, r.relayId, { room_id: a, delta: 10, score_id: 'gift:42' })),
      ).toMatchObject({
        duplicate: true,
        scores: { [a]: 10, [b]: 0 },
      });
      expectError(
        await score(t, r.relayId, { room_id: other.init.liveId, delta: 1, score_id: 'gift:42' }),
        404,
      );
    });

    it('leaves a score_id unused when the change is refused', async () => {
      const a = r.init.liveId;
      await t.dataSource.query('UPDATE relay_session SET scores_json = ? WHERE relay_id = ?', [
        JSON.stringify({ [a]: Number.MAX_SAFE_INTEGER - 1, [r.recv.liveId]: 0 }),
        r.relayId,
      ]);
      expectError(await score(t, r.relayId, { room_id: a, delta: 2, score_id: 'g1' }), 400, 400, {
        message: /would leave/,
      });
      expect(
        expectOk(await score(t, r.relayId, { room_id: a, delta: 1, score_id: 'g1' })),
      ).toMatchObject({
        duplicate: false,
        scores: { [a]: Number.MAX_SAFE_INTEGER },
      });
    });

    it.each<[string, ScoreBody, RegExp]>([
      ['both delta and score', { delta: 1, score: 1 }, /exactly one of delta and score/],
      ['neither delta nor score', {}, /exactly one of delta and score/],
      ['a delta of 0', { delta: 0 }, /not 0/],
      ['a delta above 1e9', { delta: 1_000_000_001 }, /delta must be/],
      ['a delta below -1e9', { delta: -1_000_000_001 }, /delta must be/],
      ['a negative score', { score: -1 }, /score must be 0\.\.1000000000000/],
      ['a score above 1e12', { score: 1_000_000_000_001 }, /score must be/],
      ['a fractional delta', { delta: 1.5 }, /delta must be an integer/],
      ['a delta as a string', { delta: '5' }, /delta must be an integer/],
      ['a null score', { score: null }, /score must be an integer/],
      ['a bad score_id', { delta: 1, score_id: 'gift 1' }, /score_id must be 1-64 characters/],
      ['an unknown field', { delta: 1, extra: 1 } as ScoreBody, /extra should not exist/],
    ])('answers 400 to %s, changing nothing', async (_, body, message) => {
      expectError(await score(t, r.relayId, { room_id: r.init.liveId, ...body }), 400, 400, {
        message,
      });
      expect(await scoreEvents(t, r.relayId)).toEqual([]);
    });

    it('answers 400 to a missing room_id', async () => {
      expectError(await score(t, r.relayId, { delta: 1 }), 400, 400, {
        message: /room_id is required/,
      });
    });

    it('answers 400 to a result beyond 2^53 - 1 either way and changes nothing', async () => {
      const [a, b] = [r.init.liveId, r.recv.liveId];
      const edge = { [a]: Number.MAX_SAFE_INTEGER - 5, [b]: -Number.MAX_SAFE_INTEGER + 5 };
      await t.dataSource.query('UPDATE relay_session SET scores_json = ? WHERE relay_id = ?', [
        JSON.stringify(edge),
        r.relayId,
      ]);
      expectError(await score(t, r.relayId, { room_id: a, delta: 6 }), 400, 400, {
        message: /would leave/,
      });
      expectError(await score(t, r.relayId, { room_id: b, delta: -6 }), 400, 400, {
        message: /would leave/,
      });
      expect((await read(r.relayId)).scores).toEqual(edge);
      expect(await scoreEvents(t, r.relayId)).toEqual([]);
      expectOk(await score(t, r.relayId, { room_id: a, delta: 5 }));
      expect((await read(r.relayId)).scores[a]).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('answers 404 for an unknown relay and for a room not in the relay', async () => {
      expectError(await score(t, 'relay_nope', { room_id: r.init.liveId, delta: 1 }), 404);
      expectError(await score(t, r.relayId, { room_id: 'room_elsewhere', delta: 1 }), 404, 404, {
        message: /not in this relay/,
      });
    });
  });

  describe('statuses', () => {
    it('takes scores at 1-4 only: 601 at 0 (invited), 5 (rejected) and 6 (ended)', async () => {
      const invited = await relay(t, { mode: 'invite' });
      expectError(
        await score(t, invited.relayId, { room_id: invited.init.liveId, delta: 1 }),
        409,
        601,
      );
      expectOk(
        await t.call('POST', `/client/relay/${invited.relayId}/reject`, {
          token: invited.recv.token,
        }),
      );
      expectError(
        await score(t, invited.relayId, { room_id: invited.init.liveId, delta: 1 }),
        409,
        601,
      );

      const r = await relay(t);
      for (const who of [r.init, r.recv]) {
        expectOk(await t.call('POST', `/client/relay/${r.relayId}/started`, { token: who.token }));
        expectOk(await score(t, r.relayId, { room_id: who.liveId, delta: 1 }));
      }
      expect((await read(r.relayId)).status).toBe(4);
      expectOk(await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: r.init.token }));
      expectError(await score(t, r.relayId, { room_id: r.init.liveId, delta: 1 }), 409, 601);
      expect(await scoreEvents(t, invited.relayId)).toEqual([]);
      expect(await scoreEvents(t, r.relayId)).toHaveLength(2);
    });

    it.each<[string, number, number, 'init' | 'recv' | '']>([
      ['the strictly higher room wins', 3, 2, 'init'],
      ['the receiver can win', -1, 0, 'recv'],
      ['a tie has no winner', 4, 4, ''],
      ['all at 0 is a tie', 0, 0, ''],
    ])('names the winner once ended: %s', async (_, initScore, recvScore, winner) => {
      const r = await relay(t);
      for (const [room, value] of [
        [r.init.liveId, initScore],
        [r.recv.liveId, recvScore],
      ] as const) {
        if (value !== 0) expectOk(await score(t, r.relayId, { room_id: room, delta: value }));
      }
      expect((await read(r.relayId)).winner_room_id).toBe('');
      expectOk(await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: r.recv.token }));
      const expected = winner === '' ? '' : r[winner].liveId;
      expect((await read(r.relayId)).winner_room_id).toBe(expected);
      const events = await relayEvents(t, r.relayId);
      expect(events[events.length - 1].data).toMatchObject({
        to: 6,
        session: { winner_room_id: expected },
      });
    });
  });
});

describe('PK scores in webhooks and streams', () => {
  it('POSTs relay.score_changed when listed in WEBHOOK_EVENT_TYPES, and streams it to the audience', async () => {
    const receiver = await startWebhookReceiver();
    const t = await startTestApp({
      ...NO_TIMERS,
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: 'score-webhook-secret',
      WEBHOOK_EVENT_TYPES: 'relay.score_changed',
    });
    try {
      const r = await relay(t);
      const audience = await openStream(t.baseUrl, '/client/relay/events', {
        token: tokenFor(t, 'viewer'),
        query: { room_id: r.recv.liveId },
      });
      try {
        expectOk(await score(t, r.relayId, { room_id: r.recv.liveId, delta: 9, score_id: 'g_9' }));
        const live = await audience.next((m) => m.event === 'relay.score_changed');
        expect(JSON.parse(live.data).data.scores).toEqual({
          [r.init.liveId]: 0,
          [r.recv.liveId]: 9,
        });
      } finally {
        audience.close();
      }
      const [hook] = await receiver.waitForRequests(1);
      expect(hook.headers['x-relay-event-type']).toBe('relay.score_changed');
      expect(verifySignature('score-webhook-secret', hook.headers, hook.body)).toBe(true);
      expect(JSON.parse(hook.body)).toMatchObject({
        type: 'relay.score_changed',
        relay_id: r.relayId,
        seq: 2,
        data: { room_id: r.recv.liveId, delta: 9, score_id: 'g_9' },
      });
      // The relay's creation (a status change) is logged but not POSTed.
      await pause(500);
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});

const NODES = 3;
const CALLERS = 20;
const DISTINCT = 200;
const REPEATS = 50;

describe('PK scores on three nodes sharing one database', () => {
  let nodes: TestApp[];
  beforeAll(async () => {
    const first = await startTestApp(NO_TIMERS);
    const others = await Promise.all(
      Array.from({ length: NODES - 1 }, () =>
        startTestApp({ ...NO_TIMERS, DATABASE_URL: first.databaseUrl }),
      ),
    );
    nodes = [first, ...others];
  });
  afterAll(async () => {
    for (const node of [...(nodes ?? [])].reverse()) await node.close();
  });

  it('adds up 200 concurrent gifts exactly and counts 50 repeated score_ids once', async () => {
    const r = await relay(nodes[0]);
    const rooms = [r.init.liveId, r.recv.liveId];
    // Positive and negative deltas on both rooms; each gift has its own id.
    const gifts = Array.from({ length: DISTINCT }, (_, i) => ({
      room_id: rooms[i % 2],
      delta: i % 5 === 0 ? -(i + 1) : i + 1,
      score_id: `gift_${i}`,
    }));
    // The repeats are mixed in, so some arrive while their first is still running.
    const requests = [...gifts, ...gifts.slice(0, REPEATS)]
      .map((body, i) => ({ body, order: (i * 7919) % 251 }))
      .sort((x, y) => x.order - y.order)
      .map((x) => x.body);
    const answers: { duplicate: boolean }[] = [];
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        for (let i = caller; i < requests.length; i += CALLERS) {
          answers.push(expectOk(await score(nodes[i % NODES], r.relayId, requests[i])));
        }
      }),
    );

    const expected = { [rooms[0]]: 0, [rooms[1]]: 0 };
    for (const gift of gifts) expected[gift.room_id] += gift.delta;
    const final = (
      await nodes[1].call('GET', `/client/relay/${r.relayId}`, {
        token: r.init.token,
      })
    ).body.data.scores;
    expect(final).toEqual(expected);
    const duplicates = answers.filter((a) => a.duplicate).length;
    expect(answers).toHaveLength(DISTINCT + REPEATS);
    expect(duplicates).toBe(REPEATS);

    const events = await scoreEvents(nodes[0], r.relayId);
    expect(events).toHaveLength(DISTINCT);
    expect(new Set(events.map((e) => e.data.score_id)).size).toBe(DISTINCT);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: DISTINCT }, (_, i) => i + 2));
    expect(events[events.length - 1].data.scores).toEqual(expected);

    const figures = {
      database: nodes[0].config.database.kind,
      nodes: NODES,
      callers: CALLERS,
      requests: requests.length,
      distinct_score_ids: DISTINCT,
      repeats: REPEATS,
      duplicates_seen: duplicates,
      final_scores: Object.values(final),
      expected_scores: Object.values(expected),
      score_changed_events: events.length,
    };
    writeFigures(`relay-score-concurrency-${figures.database}.json`, figures);
  }, 120_000);
});
