/**
 * Mixed traffic on three service nodes, each on its own Galera node: relays, scores whose
 * score_ids are each sent twice to two nodes at once, extends, and a stream of every relay's
 * anchor open on every node. What the Galera specs measure and check: answers by status,
 * retries (from each node's /metrics), scores exact, streams complete, in order, without
 * repeats, and the delay from an event's occurrence to its arrival on a stream.
 */
import { NO_TIMERS, relay, RelayFixture, relayEvents, serverCall } from '../factories';
import { openStream, SseClient } from '../utils/sse-client';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

export interface Cluster {
  nodes: TestApp[];
  close(): Promise<void>;
}

/** Three apps on one new database; the n-th attached to database node n (test-app.ts). */
export async function startServiceNodes(count = 3): Promise<Cluster> {
  const first = await startTestApp(NO_TIMERS);
  const nodes = [first];
  for (let i = 1; i < count; i++) {
    nodes.push(await startTestApp({ ...NO_TIMERS, DATABASE_URL: first.databaseUrl }));
  }
  return {
    nodes,
    close: async () => {
      for (const node of [...nodes].reverse()) await node.close();
    },
  };
}

/**
 * The service nodes of a spec file: started before its tests, closed after them. The returned
 * function gives the cluster to a test.
 */
export function useServiceNodes(): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startServiceNodes();
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });
  return () => cluster as Cluster;
}

interface Gift {
  relay: RelayFixture;
  body: { room_id: string; delta: number; score_id: string };
}

export interface TrafficResult {
  /** Answers by HTTP status (a network failure counts as 0), over both copies of each gift. */
  statuses: Record<string, number>;
  /** Answers with a 5xx status, by service node, and the distinct messages they carried. */
  serverErrorsByNode: number[];
  serverErrorMessages: string[];
  /** Score requests sent (two per gift), and gifts no copy of which was acknowledged at first. */
  requests: number;
  unacknowledged: number;
  /** Per service node, the longest time without an acknowledged answer (ms). */
  longestOutageMsByNode: number[];
}

export interface Load {
  relays: RelayFixture[];
  gifts: Gift[];
  streams: { node: number; relay: RelayFixture; stream: SseClient }[];
}

const status = (answer: HttpAnswer | Error) => (answer instanceof Error ? 0 : answer.status);

/** `relayCount` relays, and a stream of each relay's inviting anchor on every node. */
export async function prepare(cluster: Cluster, relayCount: number): Promise<Load> {
  const { nodes } = cluster;
  const relays: RelayFixture[] = [];
  for (let i = 0; i < relayCount; i++) relays.push(await relay(nodes[i % nodes.length]));
  const streams = [];
  for (const r of relays) {
    for (let node = 0; node < nodes.length; node++) {
      const stream = await openStream(nodes[node].baseUrl, '/client/relay/events', {
        token: r.init.token,
      });
      streams.push({ node, relay: r, stream });
    }
  }
  return { relays, gifts: [], streams };
}

/**
 * Runs `callers` loops for `durationMs`: each gift goes to two nodes at once (the same
 * score_id), and every tenth step an extends update goes to a third. Gifts no copy of which was
 * acknowledged are sent again afterwards, until one is, so every gift counts exactly once.
 */
export async function runTraffic(
  cluster: Cluster,
  load: Load,
  durationMs: number,
  callers: number,
): Promise<TrafficResult> {
  const { nodes } = cluster;
  const statuses: Record<string, number> = {};
  const serverErrorsByNode = nodes.map(() => 0);
  const messages = new Set<string>();
  const failed = (node: number, answer: HttpAnswer | Error) => {
    serverErrorsByNode[node]++;
    messages.add(answer instanceof Error ? String(answer) : answer.text.slice(0, 200));
  };
  const lastOk = nodes.map(() => Date.now());
  const longest = nodes.map(() => 0);
  const unacknowledged: Gift[] = [];
  let requests = 0;
  const send = async (node: number, gift: Gift): Promise<boolean> => {
    requests++;
    const answer = await serverCall(
      nodes[node],
      'POST',
      `/server/relay/${gift.relay.relayId}/score`,
      gift.body,
      { unchecked: true },
    ).catch((error: Error) => error);
    const code = status(answer);
    statuses[code] = (statuses[code] ?? 0) + 1;
    if (code >= 500 || code === 0) failed(node, answer);
    if (code === 200) {
      const now = Date.now();
      longest[node] = Math.max(longest[node], now - lastOk[node]);
      lastOk[node] = now;
    }
    return code === 200;
  };
  const until = Date.now() + durationMs;
  let counter = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let step = 0; Date.now() < until; step++) {
        const n = counter++;
        const r = load.relays[n % load.relays.length];
        const gift: Gift = {
          relay: r,
          body: {
            room_id: n % 2 === 0 ? r.init.liveId : r.recv.liveId,
            delta: n % 7 === 0 ? -(n % 13) - 1 : (n % 11) + 1,
            score_id: `g_${caller}_${step}_${n}`,
          },
        };
        load.gifts.push(gift);
        const a = (caller + step) % nodes.length;
        const b = (a + 1) % nodes.length;
        const acks = await Promise.all([send(a, gift), send(b, gift)]);
        if (!acks.some(Boolean)) unacknowledged.push(gift);
        if (step % 10 === 9) {
          const c = (b + 1) % nodes.length;
          const answer = await nodes[c]
            .call('POST', `/client/relay/${r.relayId}/extends`, {
              token: r.init.token,
              body: { extends: { step: String(step) } },
              unchecked: true,
            })
            .catch((error: Error) => error);
          const code = status(answer);
          statuses[code] = (statuses[code] ?? 0) + 1;
          if (code >= 500 || code === 0) failed(c, answer);
        }
      }
    }),
  );
  for (const gift of unacknowledged) {
    for (let node = 0; !(await send(node % nodes.length, gift)); node++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const end = Date.now();
  return {
    statuses,
    serverErrorsByNode,
    serverErrorMessages: [...messages],
    requests,
    unacknowledged: unacknowledged.length,
    longestOutageMsByNode: longest.map((ms, i) => Math.max(ms, end - lastOk[i])),
  };
}

export interface Checked {
  /** Per relay: the final scores equal the sum of its gifts. */
  scoresExact: boolean;
  /** Gifts acknowledged whose score_changed event is missing from the log. */
  lostWrites: number;
  streams: number;
  /** Streams that carried every score_changed event of their relay. */
  completeStreams: number;
  duplicates: number;
  /** Times an id arrived below one the stream had already carried. */
  reorders: number;
  deliveryP99Ms: number;
  deliveryMaxMs: number;
}

/** What every Galera spec asks of the traffic it ran: nothing lost, doubled or out of order. */
export function expectWhole(checked: Checked): void {
  expect(checked).toMatchObject({
    scoresExact: true,
    lostWrites: 0,
    completeStreams: checked.streams,
    duplicates: 0,
    reorders: 0,
  });
}

const score = (e: { type: string }) => e.type === 'relay.score_changed';

/** Waits until the streams carry every score event (or `timeoutMs`), then checks everything. */
export async function check(cluster: Cluster, load: Load, timeoutMs: number): Promise<Checked> {
  const reader = cluster.nodes[0];
  let scoresExact = true;
  let lostWrites = 0;
  const expectedIds = new Map<string, number[]>();
  for (const r of load.relays) {
    const events = await relayEvents(reader, r.relayId);
    const scores = events.filter(score);
    expectedIds.set(
      r.relayId,
      scores.map((e) => e.id),
    );
    const seen = new Set(scores.map((e) => (e.data as { score_id: string }).score_id));
    const gifts = load.gifts.filter((g) => g.relay === r);
    lostWrites += gifts.filter((g) => !seen.has(g.body.score_id)).length;
    const expected = { [r.init.liveId]: 0, [r.recv.liveId]: 0 };
    for (const g of gifts) expected[g.body.room_id] += g.body.delta;
    const final = (
      await reader.call('GET', `/client/relay/${r.relayId}`, {
        token: r.init.token,
        unchecked: true,
      })
    ).body.data.scores;
    if (JSON.stringify(final) !== JSON.stringify(expected)) scoresExact = false;
  }
  const scoreIds = (s: SseClient) =>
    s.messages.filter((m) => m.event === 'relay.score_changed').map((m) => Number(m.id));
  await Promise.all(
    load.streams.map(({ relay: r, stream }) =>
      stream
        .waitFor(
          () => scoreIds(stream).length >= (expectedIds.get(r.relayId) ?? []).length,
          timeoutMs,
        )
        .catch(() => undefined),
    ),
  );
  let completeStreams = 0;
  let duplicates = 0;
  let reorders = 0;
  const delays: number[] = [];
  for (const { relay: r, stream } of load.streams) {
    const ids = scoreIds(stream);
    const expected = expectedIds.get(r.relayId) ?? [];
    if (JSON.stringify(ids) === JSON.stringify(expected)) completeStreams++;
    duplicates += ids.length - new Set(ids).size;
    const all = stream.ids();
    for (let i = 1; i < all.length; i++) if (all[i] <= all[i - 1]) reorders++;
    for (const m of stream.messages) {
      const data = JSON.parse(m.data) as { occurred_at: string };
      delays.push(m.wallAt - Date.parse(data.occurred_at));
    }
  }
  delays.sort((a, b) => a - b);
  return {
    scoresExact,
    lostWrites,
    streams: load.streams.length,
    completeStreams,
    duplicates,
    reorders,
    deliveryP99Ms: delays[Math.floor(delays.length * 0.99)] ?? 0,
    deliveryMaxMs: delays[delays.length - 1] ?? 0,
  };
}

/** database_transaction_retries_total of every node, by reason. */
export async function retries(cluster: Cluster): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const node of cluster.nodes) {
    const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
    for (const [, reason, value] of text.matchAll(
      /^database_transaction_retries_total\{reason="(\w+)"\} (\d+)/gm,
    )) {
      total[reason] = (total[reason] ?? 0) + Number(value);
    }
  }
  return total;
}

export function closeStreams(load: Load): void {
  for (const { stream } of load.streams) stream.close();
}
