/**
 * Score changes that arrive together on one relay go into one transaction (docs/operations.md,
 * "Gift storms"), yet each is decided, claimed, recorded and answered as if alone: a refused
 * one among them changes nothing and fails nothing else, a score_id given twice in one burst
 * counts once, every change has its own event in the order the changes were applied.
 */
import { RelayService } from '../../src/relay/relay.service';
import { relayEvents } from '../factories';
import { gift, pkRelay, startBattle } from '../factories/battle';
import { expectError, expectOk } from '../utils/assertions';
import { startTestApp, TestApp } from '../utils/test-app';

describe('a burst of score changes on one relay', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROOM_HEARTBEAT_TIMEOUT_S: '0', RELAY_JOIN_TIMEOUT_S: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers each change alone, and adds up exactly', async () => {
    const r = await pkRelay(t);
    const [a, b] = r.anchors;
    expectOk(await startBattle(t, r, a, { mode: 'auto', countdown_s: 0, duration_s: 600 }));
    const bodies = Array.from({ length: 60 }, (_, i) => {
      if (i % 15 === 7) return { room_id: 'room_elsewhere', delta: 1 };
      if (i % 15 === 11) return { room_id: a.liveId, score: 1, user_id: 'not_with_a_score' };
      return {
        room_id: i % 2 === 0 ? a.liveId : b.liveId,
        delta: 1 + (i % 5),
        user_id: `fan_${i % 7}`,
        // Every third id is sent twice in the burst.
        score_id: `gift_${i % 20 === 3 ? 'twice' : i}`,
      };
    });
    const answers = await Promise.all(bodies.map((body) => gift(t, r.relayId, body)));
    const applied: typeof bodies = [];
    let duplicates = 0;
    for (const [i, answer] of answers.entries()) {
      const body = bodies[i];
      if (body.room_id === 'room_elsewhere') expectError(answer, 404);
      else if ('score' in body) expectError(answer, 400);
      else {
        const data = expectOk(answer);
        if (data.duplicate) duplicates += 1;
        else applied.push(body);
        expect(data.battle).toMatchObject({ battle_no: 1 });
      }
    }
    expect(duplicates).toBe(
      answers.filter((_, i) => bodies[i].score_id === 'gift_twice').length - 1,
    );
    const sum = (room: string) =>
      applied.filter((x) => x.room_id === room).reduce((n, x) => n + (x.delta ?? 0), 0);
    const relay = expectOk(await t.call('GET', `/client/relay/${r.relayId}`, { token: a.token }));
    expect(relay.scores).toEqual({ [a.liveId]: sum(a.liveId), [b.liveId]: sum(b.liveId) });
    expect(relay.battle.scores).toEqual(relay.scores);
    const events = (await relayEvents(t, r.relayId)).filter(
      (e) => e.type === 'relay.score_changed',
    );
    expect(events).toHaveLength(applied.length);
    // Each event's scores are those right after its change: a running sum in seq order.
    const running: Record<string, number> = { [a.liveId]: 0, [b.liveId]: 0 };
    for (const e of events) {
      running[e.data.room_id] += e.data.delta;
      expect(e.data.scores).toEqual(running);
      expect(e.data.session.scores).toEqual(running);
    }
  });

  // On SQLite a transaction runs to its end before the next request is read (better-sqlite3 is
  // synchronous), so there is never one in flight to gather behind.
  const whileOneIsInFlight = /^(mysql|mariadb):/.test(process.env.DATABASE_URL ?? '')
    ? it
    : it.skip;

  whileOneIsInFlight(
    'goes into fewer transactions than changes when they arrive together',
    async () => {
      const r = await pkRelay(t);
      const relays = t.app.get(RelayService);
      const batches: number[] = [];
      const original = (relays as any).scoreBatch.bind(relays);
      (relays as any).scoreBatch = (relayId: string, items: unknown[]) => {
        batches.push(items.length);
        return original(relayId, items);
      };
      try {
        const answers = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            gift(t, r.relayId, { room_id: r.anchors[0].liveId, delta: 1, score_id: `b_${i}` }),
          ),
        );
        answers.forEach((answer) => expectOk(answer));
      } finally {
        (relays as any).scoreBatch = original;
      }
      expect(batches.reduce((n, x) => n + x, 0)).toBe(40);
      expect(batches.length).toBeLessThan(40);
    },
  );
});
