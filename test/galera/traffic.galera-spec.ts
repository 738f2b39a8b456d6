/**
 * Mixed traffic on three service nodes, each on its own Galera node: no 5xx (certification
 * conflicts are retried), scores exact, every stream complete, in order and without repeats;
 * and a room created through one node is at once seen by the others (wsrep_sync_wait).
 */
import { anchor } from '../factories';
import { writeFigures } from '../utils/test-output';
import {
  check,
  closeStreams,
  expectWhole,
  prepare,
  retries,
  runTraffic,
  useServiceNodes,
} from './traffic';

const SECONDS = Number(process.env.GALERA_TRAFFIC_S ?? 20);

describe('three service nodes on three Galera nodes', () => {
  const clusterOf = useServiceNodes();

  it('reads its own writes across nodes: created on one, live on the next, started on the third', async () => {
    const { nodes } = clusterOf();
    for (let i = 0; i < 10; i++) {
      const a = await anchor(nodes[i % 3], { live: false });
      const live = await nodes[(i + 1) % 3].call('PUT', `/client/live/room/${a.liveId}`, {
        token: a.token,
      });
      expect(live.status).toBe(200);
      const b = await anchor(nodes[(i + 1) % 3]);
      const started = await nodes[(i + 2) % 3].call('POST', '/client/relay/start', {
        token: a.token,
        body: { init_room_id: a.liveId, recv_room_id: b.liveId, recv_user_id: b.userId },
      });
      expect(started.body).toMatchObject({ code: 0 });
    }
  }, 120_000);

  it(`takes ${SECONDS} s of mixed traffic with no 5xx, scores exact, streams complete and in order`, async () => {
    const cluster = clusterOf();
    const load = await prepare(cluster, 4);
    try {
      const traffic = await runTraffic(cluster, load, SECONDS * 1000, 12);
      const checked = await check(cluster, load, 15_000);
      const figures = { seconds: SECONDS, ...traffic, retries: await retries(cluster), ...checked };
      writeFigures('galera-traffic.json', figures);
      process.stdout.write(`galera traffic: ${JSON.stringify(figures)}\n`);
      expect(traffic.serverErrorsByNode).toEqual([0, 0, 0]);
      expectWhole(checked);
    } finally {
      closeStreams(load);
    }
  }, 180_000);
});
