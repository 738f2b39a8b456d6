/**
 * Three app instances on one database, as three nodes behind a load balancer: many relays
 * time out at once, and each ends exactly once (one transition, one event), whichever node
 * fires it. Writes the figures to test-output/ for the closing note.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { anchor } from '../factories';
import { closeNodes, startNodes, TestApp } from '../utils/test-app';

const RELAYS = 120;
const INVITE_TIMEOUT_S = 4;
const env = { RELAY_INVITE_TIMEOUT_S: String(INVITE_TIMEOUT_S), ROOM_HEARTBEAT_TIMEOUT_S: '0' };

describe('timers on three nodes sharing one database', () => {
  let nodes: TestApp[];
  beforeAll(async () => {
    nodes = await startNodes(env);
  });
  afterAll(async () => {
    await closeNodes(nodes);
  });

  it('ends every invitation exactly once, within 2 s of its deadline', async () => {
    const relayIds: string[] = [];
    for (let batch = 0; batch < RELAYS / 20; batch++) {
      const made = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const node = nodes[(batch * 20 + i) % nodes.length];
          const [init, recv] = [await anchor(node), await anchor(node)];
          const answer = await node.call('POST', '/client/relay/start', {
            token: init.token,
            body: {
              init_room_id: init.liveId,
              recv_room_id: recv.liveId,
              recv_user_id: recv.userId,
              mode: 'invite',
            },
          });
          expect(answer.status).toBe(200);
          return answer.body.data.relay_id as string;
        }),
      );
      relayIds.push(...made);
    }

    const db = nodes[0].dataSource;
    const deadline = Date.now() + (INVITE_TIMEOUT_S + 10) * 1000;
    let open = RELAYS;
    while (open > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [{ n }] = await db.query('SELECT COUNT(*) AS n FROM relay_session WHERE status < 5');
      open = Number(n);
    }
    expect(open).toBe(0);

    const sessions: { relayId: string; status: number; reason: string; late: number }[] = (
      await db.query(
        'SELECT relay_id AS relayId, status, stop_reason AS reason, stop_at - created_at - ? AS late FROM relay_session',
        [INVITE_TIMEOUT_S * 1000],
      )
    ).map((r: Record<string, unknown>) => ({
      relayId: String(r.relayId),
      status: Number(r.status),
      reason: String(r.reason),
      late: Number(r.late),
    }));
    expect(sessions).toHaveLength(RELAYS);
    expect(sessions.every((s) => s.status === 6 && s.reason === 'invite_timeout')).toBe(true);

    const events: { relayId: string; n: number; expiries: number }[] = (
      await db.query(
        'SELECT relay_id AS relayId, COUNT(*) AS n, SUM(CASE WHEN data LIKE \'%"reason":"invite_timeout"%\' THEN 1 ELSE 0 END) AS expiries ' +
          'FROM relay_event GROUP BY relay_id',
      )
    ).map((r: Record<string, unknown>) => ({
      relayId: String(r.relayId),
      n: Number(r.n),
      expiries: Number(r.expiries),
    }));
    expect(events).toHaveLength(RELAYS);
    expect(events.filter((e) => e.n !== 2 || e.expiries !== 1)).toEqual([]);

    const [{ claimed }] = await db.query(
      "SELECT COUNT(*) AS claimed FROM live_room WHERE pk_id <> ''",
    );
    expect(Number(claimed)).toBe(0);

    const late = sessions.map((s) => s.late).sort((a, b) => a - b);
    expect(late[0]).toBeGreaterThanOrEqual(0);
    expect(late[late.length - 1]).toBeLessThan(2000);

    const figures = {
      database: nodes[0].config.database.kind,
      nodes: nodes.length,
      sessions_expired: sessions.length,
      events_per_session: [...new Set(events.map((e) => e.n))],
      lateness_ms: {
        min: late[0],
        p50: late[Math.floor(late.length / 2)],
        max: late[late.length - 1],
      },
    };
    mkdirSync(join(__dirname, '..', '..', 'test-output'), { recursive: true });
    writeFileSync(
      join(__dirname, '..', '..', 'test-output', `timers-multinode-${figures.database}.json`),
      JSON.stringify(figures, null, 2),
    );
  }, 60000);
});
