/**
 * Random PK under races, on three nodes sharing one MySQL/MariaDB database (one node on SQLite):
 * anchors asking at the same moment are all matched, in disjoint pairs, no room in two relays,
 * and two anchors asking together on two nodes are matched with each other. Writes the timings
 * of 200 anchors asking within a second to test-output/ for the closing note.
 */
import { performance } from 'node:perf_hooks';
import { anchor, Anchor } from '../factories';
import { expectOk } from '../utils/assertions';
import { writeFigures } from '../utils/test-output';
import { startTestApp, TestApp } from '../utils/test-app';

const MYSQL = /^(mysql|mariadb):/.test(process.env.DATABASE_URL ?? '');
const ENV = { RELAY_JOIN_TIMEOUT_S: '0', ROOM_HEARTBEAT_TIMEOUT_S: '0' };

describe(`random PK on ${MYSQL ? 'three nodes' : 'one node'}`, () => {
  let nodes: TestApp[];
  const node = (i: number) => nodes[i % nodes.length];
  beforeAll(async () => {
    const first = await startTestApp(ENV);
    const others = MYSQL
      ? await Promise.all(
          [1, 2].map(() => startTestApp({ ...ENV, DATABASE_URL: first.databaseUrl })),
        )
      : [];
    nodes = [first, ...others];
  });
  afterAll(async () => {
    for (const n of [...(nodes ?? [])].reverse()) await n.close();
  });

  let rounds = 0;
  const ask = (i: number, a: Anchor, pool: string) =>
    node(i).call('POST', '/client/relay/match', {
      token: a.token,
      body: { room_id: a.liveId, pool },
    });

  /** The anchors' answers, checked: every one matched, in pairs of two rooms, each room once. */
  async function expectPaired(anchors: Anchor[], answers: { body: any }[]) {
    const data = answers.map((a) => expectOk(a as any));
    const relays = new Map<string, string[]>();
    for (const [i, d] of data.entries()) {
      relays.set(d.relay_id, [...(relays.get(d.relay_id) ?? []), anchors[i].liveId]);
    }
    // A ticket that waited learns of its match by reading it.
    for (const [i, d] of data.entries()) {
      if (d.state !== 'waiting') continue;
      const read = expectOk(
        await node(i).call('GET', `/client/relay/match/${d.match_id}`, { token: anchors[i].token }),
      );
      expect(read.state).toBe('matched');
      relays.set(read.relay_id, [...(relays.get(read.relay_id) ?? []), anchors[i].liveId]);
      relays.delete('');
    }
    expect(relays.size).toBe(anchors.length / 2);
    for (const [relayId, rooms] of relays) {
      expect(rooms).toHaveLength(2);
      const s = expectOk(
        await node(0).call('GET', `/client/relay/${relayId}`, { token: anchors[0].token }),
      );
      expect([s.init_room_id, s.recv_room_id].sort()).toEqual([...rooms].sort());
    }
    for (const a of anchors) {
      const room = expectOk(
        await node(1).call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token }),
      );
      expect(relays.get(room.pk_id)).toContain(a.liveId);
    }
  }

  it('matches 20 anchors asking at the same moment on every node, 20 times', async () => {
    for (let round = 0; round < 20; round++) {
      const pool = `race_${process.pid}_${++rounds}`;
      const anchors = await Promise.all(Array.from({ length: 20 }, (_, i) => anchor(node(i))));
      const answers = await Promise.all(anchors.map((a, i) => ask(i, a, pool)));
      await expectPaired(anchors, answers);
    }
  });

  it('matches two anchors asking together on two nodes with each other, 20 times', async () => {
    for (let round = 0; round < 20; round++) {
      const pool = `pair_${process.pid}_${++rounds}`;
      const pair = [await anchor(node(0)), await anchor(node(1))];
      const answers = await Promise.all(pair.map((a, i) => ask(i, a, pool)));
      await expectPaired(pair, answers);
    }
  });

  it('answers 200 anchors asking within one second (figures)', async () => {
    const pool = `burst_${process.pid}`;
    const anchors = await Promise.all(Array.from({ length: 200 }, (_, i) => anchor(node(i))));
    const took: number[] = [];
    const answers = await Promise.all(
      anchors.map(
        (a, i) =>
          new Promise<{ body: any }>((resolve, reject) =>
            setTimeout(
              () => {
                const began = performance.now();
                ask(i, a, pool).then((answer) => {
                  took.push(performance.now() - began);
                  resolve(answer);
                }, reject);
              },
              (i * 1000) / anchors.length,
            ),
          ),
      ),
    );
    await expectPaired(anchors, answers);
    took.sort((a, b) => a - b);
    const at = (q: number) => took[Math.min(took.length - 1, Math.floor(q * took.length))];
    writeFigures(`match-burst-${MYSQL ? 'mysql' : 'sqlite'}.json`, {
      nodes: nodes.length,
      anchors: anchors.length,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      max_ms: took[took.length - 1],
    });
  });
});
