/**
 * Group relays under concurrency, on three nodes sharing one database (docs/concepts.md, "Group
 * relays": "Room states", "How the relay's status follows its rooms", "Releasing rooms", "Timers
 * of each room"; docs/events.md, "Room events"; docs/operations.md, "Many nodes"): overlapping
 * starts claim their rooms all or none and never deadlock, so a room is in at most one unfinished
 * relay; `started` sent at once from every room serialises into one forward chain of statuses with
 * one room event per room; an invite timer moves each invited room exactly once whichever node
 * fires it; accept, reject and stops racing on one relay end in a state the rules allow, with
 * rooms released exactly when they are no longer in. Every answer is 200 or 409/601, never a 500
 * and never a database or lock error. Every event log is replayed against the room moves and the
 * status rules. On SQLite the three nodes share one file, as in the timers' multi-node spec.
 * Figures go to test-output/.
 */
import {
  anchor,
  Anchor,
  EventRow,
  groupRelay,
  GroupFixture,
  NO_TIMERS,
  relayEvents,
} from '../factories';
import { closeNodes, HttpAnswer, startNodes, TestApp } from '../utils/test-app';
import { writeFigures } from '../utils/test-output';

const DATABASE = /^(mysql|mariadb):\/\//.test(process.env.DATABASE_URL ?? '') ? 'mysql' : 'sqlite';
const QUIET = { ROOM_HEARTBEAT_TIMEOUT_S: '0' };
const INVITE_TIMEOUT_S = 2;

type RoomState = 'invited' | 'agreed' | 'joined' | 'rejected' | 'left';
type Role = 'init' | 'recv';

interface RelayRoom {
  room_id: string;
  user_id: string;
  role: Role;
  state: RoomState;
  reason: string;
}

interface Session {
  relay_id: string;
  status: number;
  stop_reason: string;
  rooms: RelayRoom[];
}

const IN: ReadonlySet<string> = new Set(['invited', 'agreed', 'joined']);
/** Statuses only move forward: 0 < 1 < 2 = 3 < 4. */
const RANK = [0, 1, 2, 2, 3];
const terminal = (status: number) => status >= 5;

/** A database or lock failure must never reach a client, not even dressed as a 601. */
const DATABASE_WORDS =
  /deadlock|lock wait|\bER_|SQLITE|QueryFailed|duplicate entry|constraint|transaction/i;

/** Every answer that is neither a success nor a clean 409/601, for the failure message. */
function unexpected(answers: HttpAnswer[]) {
  return answers
    .map((a) => ({ status: a.status, code: a.body?.code, message: a.body?.message }))
    .filter(
      (o) =>
        !(o.status === 200 && o.code === 0) &&
        !(o.status === 409 && o.code === 601 && !DATABASE_WORDS.test(String(o.message))),
    );
}

async function getSession(t: TestApp, relayId: string, token: string): Promise<Session> {
  const answer = await t.call('GET', `/client/relay/${relayId}`, { token });
  if (answer.status !== 200) throw new Error(`GET relay ${relayId}: ${answer.text}`);
  return answer.body.data;
}

async function pkId(t: TestApp, a: Anchor): Promise<string> {
  const answer = await t.call('GET', `/client/live/room/info/${a.liveId}`, { token: a.token });
  if (answer.status !== 200) throw new Error(`GET room ${a.liveId}: ${answer.text}`);
  return answer.body.data.pk_id;
}

/**
 * The failed statements of every node while watched: the transactions a node retried (its log
 * names the error of each) and the failed queries TypeORM logs (SQLite). A deadlock retried
 * inside the service reaches no client, but shows here: overlapping starts lock their rooms in
 * one order and must never deadlock at all.
 */
function watchQueryFailures(
  nodes: TestApp[],
): () => { deadlocks: string[]; lockWaits: number; busy: number } {
  const spy = jest.spyOn(console, 'log');
  const from = nodes.map((n) => n.logs.length);
  return () => {
    const lines = [
      ...spy.mock.calls.map((args) => args.map(String).join(' ')),
      ...nodes.flatMap((n, i) => n.logs.slice(from[i])),
    ];
    spy.mockRestore();
    return {
      deadlocks: lines.filter((line) => /Deadlock found/.test(line)).map((l) => l.slice(0, 300)),
      lockWaits: lines.filter((line) => /Lock wait timeout/.test(line)).length,
      busy: lines.filter((line) => /SQLITE_BUSY|database is locked/.test(line)).length,
    };
  };
}

const act = (t: TestApp, relayId: string, action: string, token: string) =>
  t.call('POST', `/client/relay/${relayId}/${action}`, { token });

const startBody = (init: Anchor, recvs: Anchor[], mode: 'auto' | 'invite') => ({
  init_room_id: init.liveId,
  recv_rooms: recvs.map((r) => ({ room_id: r.liveId, user_id: r.userId })),
  mode,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded generator, so the room sets of a run can be reproduced. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? null,
    p50: sorted[Math.floor(sorted.length / 2)] ?? null,
    max: sorted[sorted.length - 1] ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// The rules, as a model the event logs are replayed against.

interface Model {
  status: number;
  reason: string;
  rooms: RelayRoom[];
}

function initialModel(init: Anchor, recvs: Anchor[], mode: 'auto' | 'invite'): Model {
  return {
    status: mode === 'auto' ? 1 : 0,
    reason: '',
    rooms: [
      { room_id: init.liveId, user_id: init.userId, role: 'init', state: 'agreed', reason: '' },
      ...recvs.map((r): RelayRoom => ({
        room_id: r.liveId,
        user_id: r.userId,
        role: 'recv',
        state: mode === 'auto' ? 'agreed' : 'invited',
        reason: '',
      })),
    ],
  };
}

/** `role from>to reason` of every room move these tests can cause (join timers are off). */
const MOVES: ReadonlySet<string> = new Set([
  'recv invited>agreed ',
  'recv invited>rejected rejected',
  'recv invited>rejected invite_timeout',
  'recv agreed>joined ',
  'init agreed>joined ',
  'recv invited>left stopped',
  'recv agreed>left stopped',
  'recv joined>left stopped',
  'init agreed>left stopped',
  'init joined>left stopped',
]);

/** The status the rooms call for after `moved` went, or undefined when it stays. */
function derive(m: Model, moved: RelayRoom): { status: number; reason: string } | undefined {
  const [init, ...recvs] = m.rooms;
  if (init.state === 'left') {
    return {
      status: 6,
      reason: init.reason === 'stopped' && m.status === 0 ? 'cancelled' : init.reason,
    };
  }
  const inCount = m.rooms.filter((r) => IN.has(r.state)).length;
  if (inCount < 2 && !recvs.some((r) => r.state === 'invited')) {
    return recvs.every((r) => r.state === 'rejected' && r.reason === 'rejected')
      ? { status: 5, reason: 'rejected' }
      : { status: 6, reason: moved.reason };
  }
  const initJoined = init.state === 'joined';
  const recvJoined = recvs.some((r) => r.state === 'joined');
  const recvAgreed = recvs.some((r) => r.state === 'agreed' || r.state === 'joined');
  const status =
    initJoined && recvJoined ? 4 : initJoined ? 2 : recvJoined ? 3 : recvAgreed ? 1 : 0;
  return RANK[status] > RANK[m.status] ? { status, reason: '' } : undefined;
}

const summary = (e: EventRow | undefined) =>
  e === undefined ? 'nothing' : `${e.type} ${JSON.stringify({ ...e.data, session: undefined })}`;

/**
 * Replays a relay's events on `m` (which it moves to the final state): seq 1..n; the creation
 * first; each room move legal from the room's state at that point, with the session right after
 * it; each status change exactly the one the rooms call for, right after the move causing it;
 * nothing after the end. The moves of one invite timer come together, in rooms order. Answers
 * the problems found.
 */
function replay(m: Model, rows: EventRow[]): string[] {
  const problems: string[] = [];
  const at = (e: EventRow) => `${e.relay_id} seq ${e.seq}`;
  rows.forEach((e, i) => {
    if (e.seq !== i + 1) problems.push(`${at(e)}: expected seq ${i + 1}`);
  });
  const created = rows[0];
  if (
    created?.type !== 'relay.status_changed' ||
    created.data.from !== null ||
    created.data.to !== m.status
  ) {
    problems.push(`${rows[0]?.relay_id}: the first event is ${summary(created)}`);
  }
  let i = 1;
  while (i < rows.length) {
    const e = rows[i];
    if (e.type !== 'relay.room_changed') {
      problems.push(`${at(e)}: ${summary(e)} follows no room move`);
      i++;
      continue;
    }
    const batch = [e];
    while (
      e.data.reason === 'invite_timeout' &&
      rows[i + batch.length]?.type === 'relay.room_changed' &&
      rows[i + batch.length].data.reason === 'invite_timeout'
    ) {
      batch.push(rows[i + batch.length]);
    }
    if (terminal(m.status)) problems.push(`${at(e)}: a room moved after the relay ended`);
    let lastIndex = -1;
    let moved: RelayRoom | undefined;
    for (const b of batch) {
      const index = m.rooms.findIndex((r) => r.room_id === b.data.room_id);
      const room = m.rooms[index];
      if (room === undefined) {
        problems.push(`${at(b)}: room ${b.data.room_id} is not in the relay`);
        continue;
      }
      const move = `${room.role} ${b.data.from}>${b.data.to} ${b.data.reason}`;
      if (b.data.from !== room.state) {
        problems.push(`${at(b)}: room ${index} moved from ${b.data.from}, but was ${room.state}`);
      }
      if (!MOVES.has(move)) problems.push(`${at(b)}: room ${index}: not an allowed move: ${move}`);
      if (b.data.user_id !== room.user_id) problems.push(`${at(b)}: user_id ${b.data.user_id}`);
      if (index <= lastIndex) problems.push(`${at(b)}: one timer moved rooms out of rooms order`);
      lastIndex = index;
      room.state = b.data.to;
      room.reason = b.data.reason;
      moved = room;
      const want = m.rooms.map((r) => `${r.room_id}:${r.state}`).join(',');
      const seen = (b.data.session?.rooms ?? [])
        .map((r: RelayRoom) => `${r.room_id}:${r.state}`)
        .join(',');
      if (seen !== want || b.data.session?.status !== m.status) {
        problems.push(
          `${at(b)}: data.session is ${b.data.session?.status} [${seen}], not the one right after the move: ${m.status} [${want}]`,
        );
      }
    }
    i += batch.length;
    const next = moved && derive(m, moved);
    if (next !== undefined) {
      const n = rows[i];
      if (
        n?.type === 'relay.status_changed' &&
        n.data.from === m.status &&
        n.data.to === next.status &&
        n.data.reason === next.reason
      ) {
        i++;
      } else {
        problems.push(
          `${at(e)}: the rooms call for ${m.status} -> ${next.status} (${next.reason}) next, got ${summary(n)}`,
        );
      }
      m.status = next.status;
      m.reason = next.reason;
    }
  }
  return problems;
}

/** The session as a client sees it against the model's final state. */
function differences(s: Session, m: Model): string[] {
  const seen = {
    status: s.status,
    stop_reason: s.stop_reason,
    rooms: s.rooms.map((r) => `${r.room_id}:${r.role}:${r.state}:${r.reason}`),
  };
  const want = {
    status: m.status,
    stop_reason: m.reason,
    rooms: m.rooms.map((r) => `${r.room_id}:${r.role}:${r.state}:${r.reason}`),
  };
  return JSON.stringify(seen) === JSON.stringify(want)
    ? []
    : [`${s.relay_id}: session ${JSON.stringify(seen)}, events say ${JSON.stringify(want)}`];
}

// ---------------------------------------------------------------------------------------------

describe('group relays on three nodes sharing one database', () => {
  const figures: Record<string, unknown> = { database: DATABASE, nodes: 3 };
  afterAll(() => {
    writeFigures(`relay-group-concurrency-${DATABASE}.json`, figures);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('requests racing', () => {
    let nodes: TestApp[];
    const node = (i: number) => nodes[i % nodes.length];
    beforeAll(async () => {
      nodes = await startNodes({ ...NO_TIMERS, ...QUIET });
    });
    afterAll(async () => {
      await closeNodes(nodes);
    });

    /** Every room in an unfinished relay of the database, with every relay holding it. */
    async function holders(token: string): Promise<Map<string, string[]>> {
      const open: { relayId: string }[] = await nodes[0].dataSource.query(
        'SELECT relay_id AS relayId FROM relay_session WHERE status < 5',
      );
      const sessions = await Promise.all(
        open.map((row, i) => getSession(node(i), String(row.relayId), token)),
      );
      const held = new Map<string, string[]>();
      for (const s of sessions) {
        if (terminal(s.status)) continue;
        for (const r of s.rooms.filter((x) => IN.has(x.state))) {
          held.set(r.room_id, [...(held.get(r.room_id) ?? []), s.relay_id]);
        }
      }
      return held;
    }

    it('overlapping starts of 3-5 rooms: all or none claimed, each room in one relay, never a 500', async () => {
      const POOL = 12;
      const ROUNDS = 10;
      const STARTS = 16;
      const SEED = 20261201;
      const random = seeded(SEED);
      const pool: Anchor[] = [];
      for (let i = 0; i < POOL; i++) pool.push(await anchor(node(i)));
      const poolIds = pool.map((a) => a.liveId);
      const inPool = `init_room_id IN (${poolIds.map(() => '?').join(', ')})`;
      const rounds: Record<string, unknown>[] = [];
      let createdBefore = 0;
      const stopWatching = watchQueryFailures(nodes);

      for (let round = 0; round < ROUNDS; round++) {
        // Random orders, so two starts often want the same rooms the other way round.
        const sets = Array.from({ length: STARTS }, () =>
          shuffled(pool, random).slice(0, 3 + Math.floor(random() * 3)),
        );
        const began = Date.now();
        const answers = await Promise.all(
          sets.map((set, i) =>
            node(i + round).call('POST', '/client/relay/start', {
              token: set[0].token,
              body: startBody(set[0], set.slice(1), 'auto'),
            }),
          ),
        );
        const ms = Date.now() - began;
        expect(unexpected(answers)).toEqual([]);

        const winners = sets
          .map((set, i) => ({ set, answer: answers[i] }))
          .filter((x) => x.answer.status === 200)
          .map((x) => ({ set: x.set, relayId: String(x.answer.body.data.relay_id) }));
        const losers = sets.filter((_, i) => answers[i].status !== 200);
        expect(winners.length).toBeGreaterThan(0);
        const holder = new Map<string, string>();
        const wonTwice: string[] = [];
        for (const w of winners) {
          for (const a of w.set) {
            if (holder.has(a.liveId)) wonTwice.push(a.liveId);
            holder.set(a.liveId, w.relayId);
          }
        }
        expect(wonTwice).toEqual([]);
        // A start refused for a room already relaying: some winner holds one of its rooms.
        expect(
          losers
            .filter((set) => !set.some((a) => holder.has(a.liveId)))
            .map((set) => set.map((a) => a.liveId)),
        ).toEqual([]);

        // No loser left a session behind, finished or not.
        const rows: { relayId: string; status: number }[] = await nodes[0].dataSource.query(
          `SELECT relay_id AS relayId, status FROM relay_session WHERE ${inPool}`,
          poolIds,
        );
        expect(rows).toHaveLength(createdBefore + winners.length);
        expect(
          rows
            .filter((r) => Number(r.status) < 5)
            .map((r) => String(r.relayId))
            .sort(),
        ).toEqual(winners.map((w) => w.relayId).sort());
        createdBefore = rows.length;

        // Each winner holds its rooms, as given, all agreed.
        for (const [j, w] of winners.entries()) {
          const s = await getSession(node(j), w.relayId, pool[0].token);
          expect({
            status: s.status,
            rooms: s.rooms.map((r) => [r.room_id, r.role, r.state]),
          }).toEqual({
            status: 1,
            rooms: w.set.map((a, k) => [a.liveId, k === 0 ? 'init' : 'recv', 'agreed']),
          });
        }
        // Across every unfinished relay of the database, each room is in one at most, and each
        // room's pk_id names the relay holding it (losers' rooms: "").
        const held = await holders(pool[0].token);
        expect([...held].filter(([, relays]) => relays.length > 1)).toEqual([]);
        const pk = await Promise.all(pool.map((a, k) => pkId(node(k + round), a)));
        expect(pk).toEqual(pool.map((a) => holder.get(a.liveId) ?? ''));
        expect(pk).toEqual(pool.map((a) => held.get(a.liveId)?.[0] ?? ''));

        // The winners' initiators stop at once on other nodes: every room is free again.
        const stops = await Promise.all(
          winners.map((w, j) => act(node(j + round + 1), w.relayId, 'stop', w.set[0].token)),
        );
        expect(unexpected(stops)).toEqual([]);
        expect(stops.map((a) => a.body.data.relay_status)).toEqual(winners.map(() => 6));
        expect(await Promise.all(pool.map((a, k) => pkId(node(k + round + 2), a)))).toEqual(
          pool.map(() => ''),
        );
        const problems: string[] = [];
        for (const w of winners) {
          const m = initialModel(w.set[0], w.set.slice(1), 'auto');
          problems.push(...replay(m, await relayEvents(nodes[0], w.relayId)));
          if (m.status !== 6 || m.reason !== 'stopped') problems.push(`${w.relayId}: ${m.status}`);
        }
        expect(problems).toEqual([]);
        rounds.push({
          starts: STARTS,
          rooms_per_start: spread(sets.map((s) => s.length)),
          winners: winners.length,
          rooms_claimed: holder.size,
          answers_601: losers.length,
          ms,
        });
      }
      const met = stopWatching();
      figures.overlapping_starts = {
        seed: SEED,
        deadlocks: met.deadlocks.length,
        lock_wait_timeouts: met.lockWaits,
        sqlite_busy: met.busy,
        pool_rooms: POOL,
        rounds: ROUNDS,
        starts: ROUNDS * STARTS,
        winners: rounds.reduce((n, r) => n + Number(r.winners), 0),
        answers_601: rounds.reduce((n, r) => n + Number(r.answers_601), 0),
        answers_500: 0,
        round_ms: spread(rounds.map((r) => Number(r.ms))),
        per_round: rounds,
      };
      expect(met.deadlocks).toEqual([]);
    }, 60000);

    it('all 4 rooms report started at once, twice, across the nodes: one forward chain to 4, one event per room', async () => {
      const RELAYS = 10;
      const relays = await Promise.all(
        Array.from({ length: RELAYS }, (_, i) => groupRelay(node(i), 3)),
      );
      const stopWatching = watchQueryFailures(nodes);
      const began = Date.now();
      const answers = await Promise.all(
        relays.map((r, i) =>
          Promise.all(
            [r.init, ...r.recvs].flatMap((a, k) =>
              [0, 1].map((j) => act(node(i + k + j), r.relayId, 'started', a.token)),
            ),
          ),
        ),
      );
      const ms = Date.now() - began;
      expect(unexpected(answers.flat())).toEqual([]);

      const problems: string[] = [];
      const firstJoin = { initiator: 0, receiver: 0 };
      for (const [i, r] of relays.entries()) {
        const statuses = answers[i].map((a) => a.body.data.relay_status);
        if (!statuses.every((s) => [2, 3, 4].includes(s)) || !statuses.includes(4)) {
          problems.push(`${r.relayId}: answers ${statuses.join(',')}`);
        }
        const rows = await relayEvents(nodes[0], r.relayId);
        const m = initialModel(r.init, r.recvs, 'auto');
        problems.push(...replay(m, rows));
        problems.push(...differences(await getSession(node(i + 1), r.relayId, r.init.token), m));
        const roomEvents = rows.filter((e) => e.type === 'relay.room_changed');
        expect(roomEvents.map((e) => e.data.room_id).sort()).toEqual(
          [r.init, ...r.recvs].map((a) => a.liveId).sort(),
        );
        expect(roomEvents.map((e) => `${e.data.from}>${e.data.to}`)).toEqual(
          Array(4).fill('agreed>joined'),
        );
        const chain = rows
          .filter((e) => e.type === 'relay.status_changed')
          .map((e) => [e.data.from, e.data.to]);
        expect(chain).toHaveLength(3);
        expect(chain[0]).toEqual([null, 1]);
        expect([
          [1, 2],
          [1, 3],
        ]).toContainEqual(chain[1]);
        expect(chain[2]).toEqual([chain[1][1], 4]);
        expect(rows).toHaveLength(7);
        if (chain[1][1] === 2) firstJoin.initiator++;
        else firstJoin.receiver++;
        for (const [k, a] of [r.init, ...r.recvs].entries()) {
          expect([k, await pkId(node(i + k), a)]).toEqual([k, r.relayId]);
        }
      }
      expect(problems).toEqual([]);
      const met = stopWatching();
      figures.simultaneous_started = {
        deadlocks: met.deadlocks.length,
        lock_wait_timeouts: met.lockWaits,
        sqlite_busy: met.busy,
        relays: RELAYS,
        requests: answers.flat().length,
        ms,
        first_to_join: firstJoin,
        events_per_relay: 7,
      };
    }, 60000);

    type Who = 0 | 1 | 2;
    type Action = 'accept' | 'reject' | 'stop';
    /** 0 is the initiator, 1 and 2 the receivers; every request of a scenario is sent at once. */
    const SCENARIOS: [Who, Action][][] = [
      [
        [1, 'accept'],
        [2, 'reject'],
        [1, 'stop'],
        [2, 'stop'],
        [0, 'stop'],
      ],
      [
        [1, 'accept'],
        [2, 'accept'],
        [1, 'stop'],
        [0, 'stop'],
      ],
      [
        [1, 'reject'],
        [2, 'reject'],
        [0, 'stop'],
      ],
      [
        [1, 'accept'],
        [2, 'reject'],
        [2, 'stop'],
      ],
      [
        [1, 'accept'],
        [2, 'accept'],
        [1, 'stop'],
        [2, 'reject'],
      ],
      [
        [1, 'accept'],
        [1, 'reject'],
        [2, 'accept'],
        [2, 'stop'],
        [0, 'stop'],
      ],
      [
        [1, 'stop'],
        [2, 'stop'],
        [0, 'stop'],
      ],
      [
        [1, 'accept'],
        [1, 'stop'],
        [2, 'accept'],
        [2, 'stop'],
      ],
    ];

    it('accept, reject and stops of one 3-room relay at once across the nodes: an allowed end, rooms released iff not in', async () => {
      const ROUNDS = 2;
      const COPIES = 2;
      const outcomes: Record<string, number> = {};
      let requests = 0;
      let answers601 = 0;
      const roundMs: number[] = [];
      const stopWatching = watchQueryFailures(nodes);
      for (let round = 0; round < ROUNDS; round++) {
        const plans = SCENARIOS.flatMap((scenario) => Array(COPIES).fill(scenario)) as [
          Who,
          Action,
        ][][];
        const relays = await Promise.all(
          plans.map((_, k) => groupRelay(node(k + round), 2, { mode: 'invite' })),
        );
        const began = Date.now();
        const answers = await Promise.all(
          relays.map((r, k) =>
            Promise.all(
              plans[k].map(([who, action], j) =>
                act(node(k + j + round), r.relayId, action, [r.init, ...r.recvs][who].token),
              ),
            ),
          ),
        );
        roundMs.push(Date.now() - began);
        expect(unexpected(answers.flat())).toEqual([]);

        const problems: string[] = [];
        for (const [k, r] of relays.entries()) {
          const plan = plans[k];
          const anchors = [r.init, ...r.recvs];
          const said = (j: number) => `${r.relayId} ${plan[j][1]} by room ${plan[j][0]}`;
          const rows = await relayEvents(nodes[0], r.relayId);
          const m = initialModel(r.init, r.recvs, 'invite');
          problems.push(...replay(m, rows));
          problems.push(...differences(await getSession(node(k + 1), r.relayId, r.init.token), m));
          const roomEvents = rows.filter((e) => e.type === 'relay.room_changed');
          const movedTo = (who: Who, to: RoomState, reason: string) =>
            roomEvents.some(
              (e) =>
                e.data.room_id === anchors[who].liveId &&
                e.data.to === to &&
                e.data.reason === reason,
            );
          for (const [j, [who, action]] of plan.entries()) {
            const ok = answers[k][j].status === 200;
            // A stop succeeds whatever the state; accept and reject succeed iff they moved.
            if (action === 'stop' && !ok) problems.push(`${said(j)}: ${answers[k][j].text}`);
            if (action === 'accept' && ok !== movedTo(who, 'agreed', '')) {
              problems.push(`${said(j)}: answered ${answers[k][j].status}, events disagree`);
            }
            if (action === 'reject' && ok !== movedTo(who, 'rejected', 'rejected')) {
              problems.push(`${said(j)}: answered ${answers[k][j].status}, events disagree`);
            }
          }
          // Every move was asked for by that room's anchor.
          const asked = (who: number, action: Action) =>
            plan.some(([w, a]) => w === who && a === action);
          for (const e of roomEvents) {
            const who = anchors.findIndex((a) => a.liveId === e.data.room_id);
            const action = { agreed: 'accept', rejected: 'reject', left: 'stop' }[
              e.data.to as string
            ] as Action | undefined;
            if (action === undefined || !asked(who, action)) {
              problems.push(`${r.relayId} seq ${e.seq}: nobody asked for ${summary(e)}`);
            }
          }
          if (asked(0, 'stop') && !terminal(m.status)) {
            problems.push(`${r.relayId}: the initiator stopped it, yet it is at ${m.status}`);
          }
          const pk = await Promise.all(anchors.map((a, n) => pkId(node(k + n), a)));
          const want = m.rooms.map((room) =>
            !terminal(m.status) && IN.has(room.state) ? r.relayId : '',
          );
          if (JSON.stringify(pk) !== JSON.stringify(want)) {
            problems.push(
              `${r.relayId}: pk_id ${JSON.stringify(pk)}, want ${JSON.stringify(want)}`,
            );
          }
          const outcome = `${m.status} ${m.reason || '-'} [${m.rooms.map((x) => x.state).join(',')}]`;
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
        expect(problems).toEqual([]);
        requests += answers.flat().length;
        answers601 += answers.flat().filter((a) => a.status === 409).length;
      }
      const met = stopWatching();
      figures.mixed_race = {
        deadlocks: met.deadlocks.length,
        lock_wait_timeouts: met.lockWaits,
        sqlite_busy: met.busy,
        relays: ROUNDS * SCENARIOS.length * COPIES,
        requests,
        answers_601: answers601,
        round_ms: roundMs,
        outcomes,
      };
    }, 60000);
  });

  describe(`invite timers (${INVITE_TIMEOUT_S} s) firing on every node`, () => {
    let nodes: TestApp[];
    const node = (i: number) => nodes[i % nodes.length];
    beforeAll(async () => {
      nodes = await startNodes({
        ...QUIET,
        RELAY_INVITE_TIMEOUT_S: String(INVITE_TIMEOUT_S),
        RELAY_JOIN_TIMEOUT_S: '0',
        TIMER_INTERVAL_MS: '200',
      });
    });
    afterAll(async () => {
      await closeNodes(nodes);
    });

    type Step = 'accept' | 'reject' | 'wait';
    /** 2 or 3 receivers; some accept or reject right after the start, the others wait. */
    function plan(i: number): Step[] {
      const steps: Step[] = Array(2 + (i % 2)).fill('wait');
      if (i % 5 === 1) steps[0] = 'accept';
      if (i % 5 === 2) steps[0] = 'reject';
      if (i % 5 === 3) [steps[0], steps[1]] = ['accept', 'reject'];
      if (i % 5 === 4) steps.fill('accept', 0, steps.length - 1);
      return steps;
    }

    it('each invited room times out exactly once, whichever node fires, and nothing else moves', async () => {
      const RELAYS = 30;
      const stopWatching = watchQueryFailures(nodes);
      const made: { r: GroupFixture; steps: Step[]; answers: (HttpAnswer | undefined)[] }[] =
        await Promise.all(
          Array.from({ length: RELAYS }, async (_, i) => {
            const steps = plan(i);
            const r = await groupRelay(node(i), steps.length, { mode: 'invite' });
            const answers = await Promise.all(
              steps.map((step, k) =>
                step === 'wait'
                  ? Promise.resolve(undefined)
                  : act(node(i + k + 1), r.relayId, step, r.recvs[k].token),
              ),
            );
            return { r, steps, answers };
          }),
        );
      const sent = made.flatMap((x) => x.answers).filter((a): a is HttpAnswer => a !== undefined);
      expect(unexpected(sent)).toEqual([]);

      // Until no room is invited any more; then a few more timer rounds on every node, in which
      // a second firing would show.
      const deadline = Date.now() + (INVITE_TIMEOUT_S + 5) * 1000;
      let waiting = RELAYS;
      while (waiting > 0 && Date.now() < deadline) {
        await sleep(250);
        const sessions = await Promise.all(
          made.map((x, i) => getSession(node(i), x.r.relayId, x.r.init.token)),
        );
        waiting = sessions.filter((s) => s.rooms.some((room) => room.state === 'invited')).length;
      }
      expect(waiting).toBe(0);
      await sleep(1000);

      const createdAt = new Map<string, number>(
        (
          await nodes[0].dataSource.query(
            'SELECT relay_id AS relayId, created_at AS c FROM relay_session',
          )
        ).map((row: Record<string, unknown>) => [String(row.relayId), Number(row.c)]),
      );
      const problems: string[] = [];
      const lateness: number[] = [];
      const outcomes: Record<string, number> = {};
      let timedOut = 0;
      let lostToTimer = 0;
      for (const [i, { r, steps, answers }] of made.entries()) {
        const rows = await relayEvents(nodes[0], r.relayId);
        const m = initialModel(r.init, r.recvs, 'invite');
        problems.push(...replay(m, rows));
        problems.push(...differences(await getSession(node(i + 2), r.relayId, r.init.token), m));
        const roomEvents = rows.filter((e) => e.type === 'relay.room_changed');
        const moves = roomEvents.map((e) => `${e.data.room_id}:${e.data.from}>${e.data.to}`);
        if (new Set(moves).size !== moves.length) problems.push(`${r.relayId}: a move repeated`);
        // What each receiver ended as: its answered step, or the timer's rejection.
        const done = steps.map((step, k) => (answers[k]?.status === 200 ? step : 'wait'));
        lostToTimer += steps.filter((s, k) => s !== 'wait' && done[k] === 'wait').length;
        const timeouts = roomEvents.filter((e) => e.data.reason === 'invite_timeout');
        const expectedTimeouts = r.recvs.filter((_, k) => done[k] === 'wait').map((a) => a.liveId);
        if (
          JSON.stringify(timeouts.map((e) => e.data.room_id)) !== JSON.stringify(expectedTimeouts)
        ) {
          problems.push(
            `${r.relayId}: invite_timeout moved ${JSON.stringify(timeouts.map((e) => e.data.room_id))}, want each of ${JSON.stringify(expectedTimeouts)} once`,
          );
        }
        timedOut += timeouts.length;
        const wantRooms = r.recvs.map((_, k) =>
          done[k] === 'accept'
            ? 'agreed:'
            : done[k] === 'reject'
              ? 'rejected:rejected'
              : 'rejected:invite_timeout',
        );
        const seenRooms = m.rooms.slice(1).map((x) => `${x.state}:${x.reason}`);
        if (JSON.stringify(seenRooms) !== JSON.stringify(wantRooms)) {
          problems.push(`${r.relayId}: rooms ${seenRooms.join(',')}, want ${wantRooms.join(',')}`);
        }
        const want = done.includes('accept')
          ? { status: 1, reason: '' }
          : done.every((d) => d === 'reject')
            ? { status: 5, reason: 'rejected' }
            : { status: 6, reason: 'invite_timeout' };
        if (m.status !== want.status || m.reason !== want.reason) {
          problems.push(
            `${r.relayId}: ended ${m.status} ${m.reason}, want ${JSON.stringify(want)}`,
          );
        }
        const pk = await Promise.all([r.init, ...r.recvs].map((a, k) => pkId(node(i + k), a)));
        const wantPk = m.rooms.map((room) =>
          !terminal(m.status) && IN.has(room.state) ? r.relayId : '',
        );
        if (JSON.stringify(pk) !== JSON.stringify(wantPk)) {
          problems.push(
            `${r.relayId}: pk_id ${JSON.stringify(pk)}, want ${JSON.stringify(wantPk)}`,
          );
        }
        if (timeouts.length > 0) {
          lateness.push(
            timeouts[0].occurred_at - (createdAt.get(r.relayId) ?? NaN) - INVITE_TIMEOUT_S * 1000,
          );
        }
        const outcome = `${m.status} ${m.reason || '-'}`;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      expect(problems).toEqual([]);
      // Never early, and within 2 s of the deadline (docs/concepts.md, "Timers").
      expect(lateness.length).toBeGreaterThan(0);
      expect(lateness.filter((ms) => !(ms >= 0 && ms < 2000))).toEqual([]);
      const met = stopWatching();
      figures.invite_timers = {
        deadlocks: met.deadlocks.length,
        lock_wait_timeouts: met.lockWaits,
        sqlite_busy: met.busy,
        relays: RELAYS,
        receivers: made.reduce((n, x) => n + x.steps.length, 0),
        rooms_timed_out: timedOut,
        answers_before_timer: sent.filter((a) => a.status === 200).length,
        answers_lost_to_timer: lostToTimer,
        lateness_ms: spread(lateness),
        outcomes,
      };
    }, 60000);
  });
});
