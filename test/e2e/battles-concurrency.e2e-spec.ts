/**
 * Battles under races, on three nodes sharing one MySQL/MariaDB database (one node on SQLite,
 * which is a single node's database): concurrent starts on one relay, concurrent gifts during a
 * fight, and the timers of many battles run by every node at once. Writes its figures to
 * test-output/ for the closing note.
 */
import { BattleService } from '../../src/battle/battle.service';
import { Clock } from '../../src/common/clock';
import { relayEvents } from '../factories';
import { gift, leaderboard, pkRelay, readBattle, startBattle } from '../factories/battle';
import { expectOk } from '../utils/assertions';
import { writeFigures } from '../utils/test-output';
import { startTestApp, TestApp } from '../utils/test-app';

const MYSQL = /^(mysql|mariadb):/.test(process.env.DATABASE_URL ?? '');
const S = 1000;
const ENV = {
  ROOM_HEARTBEAT_TIMEOUT_S: '0',
  RELAY_JOIN_TIMEOUT_S: '0',
  TIMER_INTERVAL_MS: '10000',
  BATTLE_COUNTDOWN_S: '0',
  BATTLE_DURATION_S: '60',
  BATTLE_PUNISHMENT_S: '5',
};

describe(`battles on ${MYSQL ? 'three nodes' : 'one node'}`, () => {
  let nodes: TestApp[];
  let now = Date.now();
  const node = (i: number) => nodes[i % nodes.length];
  beforeAll(async () => {
    const first = await startTestApp(ENV);
    const others = MYSQL
      ? await Promise.all(
          [1, 2].map(() => startTestApp({ ...ENV, DATABASE_URL: first.databaseUrl })),
        )
      : [];
    nodes = [first, ...others];
    // One clock for every node, moved by the spec.
    for (const n of nodes) n.app.get(Clock).now = () => now;
  });
  afterAll(async () => {
    for (const n of [...(nodes ?? [])].reverse()) await n.close();
  });

  it('lets one of many concurrent starts on a relay win; the others are 601', async () => {
    const figures = { rounds: 10, starts: 0, won: 0, refused: 0 };
    for (let round = 0; round < figures.rounds; round++) {
      const r = await pkRelay(node(0));
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          startBattle(node(i), r, r.anchors[i % 2], { mode: i % 3 === 0 ? 'invite' : 'auto' }),
        ),
      );
      figures.starts += answers.length;
      const won = answers.filter((a) => a.status === 200);
      figures.won += won.length;
      figures.refused += answers.filter((a) => a.status === 409 && a.body.code === 601).length;
      expect(won).toHaveLength(1);
      const created = (await relayEvents(node(0), r.relayId)).filter(
        (e) => e.type === 'relay.battle_changed' && e.data.from === null,
      );
      expect(created.map((e) => e.data.battle_no)).toEqual([1]);
    }
    expect(figures.refused).toBe(figures.starts - figures.rounds);
    writeFigures(`battle-start-race-${MYSQL ? 'mysql' : 'sqlite'}.json`, figures);
  });

  it('adds up concurrent gifts from every node exactly: relay, battle and each contribution', async () => {
    const r = await pkRelay(node(0));
    const [a, b] = r.anchors;
    expectOk(await startBattle(node(0), r, a, { mode: 'auto' }));
    const users = Array.from({ length: 20 }, (_, i) => `fan_${i}`);
    const gifts = Array.from({ length: 300 }, (_, i) => ({
      room_id: i % 3 === 0 ? b.liveId : a.liveId,
      delta: 1 + (i % 7),
      user_id: users[i % users.length],
      score_id: `gift_${i}`,
    }));
    // Every fifth gift is sent twice, to two nodes, as a gift system that retries would.
    const sent = gifts.flatMap((g, i) => (i % 5 === 0 ? [g, g] : [g]));
    const answers = await Promise.all(
      sent.map((g, i) => gift(node(i), r.relayId, g).then((answer) => ({ g, answer }))),
    );
    const failed = answers.filter(({ answer }) => answer.status !== 200);
    expect(failed.map(({ answer }) => answer.text)).toEqual([]);
    const duplicates = answers.filter(({ answer }) => answer.body.data.duplicate).length;
    const expected = (room: string) =>
      gifts.filter((g) => g.room_id === room).reduce((sum, g) => sum + g.delta, 0);
    const battle = await readBattle(node(1), r, 1);
    const relay = expectOk(
      await node(2).call('GET', `/client/relay/${r.relayId}`, { token: a.token }),
    );
    for (const room of [a.liveId, b.liveId]) {
      expect(battle.scores[room]).toBe(expected(room));
      expect(relay.scores[room]).toBe(expected(room));
      for (const battleNo of [undefined, 1]) {
        const board = await leaderboard(node(0), r, {
          room_id: room,
          battle_no: battleNo,
          limit: 100,
        });
        const byUser = Object.fromEntries(board.rows.map(([user, amount]) => [user, amount]));
        const want: Record<string, number> = {};
        for (const g of gifts.filter((x) => x.room_id === room)) {
          want[g.user_id] = (want[g.user_id] ?? 0) + g.delta;
        }
        expect(byUser).toEqual(want);
      }
    }
    const scoreEvents = (await relayEvents(node(0), r.relayId)).filter(
      (e) => e.type === 'relay.score_changed',
    );
    expect(scoreEvents).toHaveLength(gifts.length);
    writeFigures(`battle-gifts-${MYSQL ? 'mysql' : 'sqlite'}.json`, {
      nodes: nodes.length,
      gifts: gifts.length,
      sent: sent.length,
      duplicates,
      lost: 0,
      doubled: 0,
    });
  });

  it('makes each phase move of many battles once, with every node sweeping at once', async () => {
    const relays = await Promise.all(Array.from({ length: 12 }, (_, i) => pkRelay(node(i))));
    const started = now;
    for (const [i, r] of relays.entries()) {
      expectOk(await startBattle(node(i), r, r.anchors[0], { mode: 'auto', duration_s: 10 }));
    }
    for (const at of [started + 10 * S, started + 15 * S]) {
      now = at;
      await Promise.all(
        nodes.flatMap((n) => [
          n.app.get(BattleService).advanceDue(200),
          n.app.get(BattleService).advanceDue(200),
        ]),
      );
    }
    for (const r of relays) {
      const moves = (await relayEvents(node(0), r.relayId))
        .filter((e) => e.type === 'relay.battle_changed')
        .map((e) => `${e.data.from}>${e.data.to}`);
      expect(moves).toEqual(['null>fighting', 'fighting>punishment', 'punishment>ended']);
    }
  });
});
