/**
 * A database node killed with kill -9 under load, then restarted (it rejoins by IST): the
 * service node attached to it fails over to the next database node within seconds, nothing
 * acknowledged is lost, scores stay exact, and streams neither repeat nor reorder an event.
 */
import { writeFigures } from '../utils/test-output';
import { killDbNode, restartDbNode } from './cluster';
import {
  check,
  closeStreams,
  expectWhole,
  prepare,
  retries,
  runTraffic,
  useServiceNodes,
} from './traffic';

const VICTIM = 1;
/** Connections of a service node's pool (database.options.ts). */
const POOL_SIZE = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a Galera node killed under load', () => {
  const clusterOf = useServiceNodes();

  it('loses nothing acknowledged, and the streams stay whole and in order', async () => {
    const cluster = clusterOf();
    const load = await prepare(cluster, 4);
    const timeline: Record<string, number> = {};
    const began = Date.now();
    try {
      const traffic = runTraffic(cluster, load, 30_000, 12);
      await sleep(6_000);
      await killDbNode(VICTIM);
      timeline.killedAtMs = Date.now() - began;
      await sleep(12_000);
      timeline.restartedAtMs = Date.now() - began;
      await restartDbNode(VICTIM);
      timeline.syncedAtMs = Date.now() - began;
      const result = await traffic;
      const checked = await check(cluster, load, 30_000);
      const figures = { ...timeline, ...result, retries: await retries(cluster), ...checked };
      writeFigures('galera-node-death.json', figures);
      process.stdout.write(`galera node death: ${JSON.stringify(figures)}\n`);
      expectWhole(checked);
      // Only a unit whose connection broke while its COMMIT was on the wire may be answered
      // with an error (it may have committed; it is never run twice): at most one per
      // connection of the victim's service node, and none anywhere else.
      expect(result.serverErrorsByNode.filter((_, i) => i !== VICTIM)).toEqual([0, 0]);
      expect(result.serverErrorsByNode[VICTIM]).toBeLessThanOrEqual(POOL_SIZE);
      expect(Math.max(...result.longestOutageMsByNode)).toBeLessThan(15_000);
    } finally {
      closeStreams(load);
    }
  }, 240_000);
});
