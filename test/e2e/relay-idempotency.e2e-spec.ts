/**
 * Idempotent start (docs/api.md, "Idempotent retries"): a repeat of an `Idempotency-Key` answers
 * the first answer (success or 4xx) with `Idempotent-Replayed: true` and creates nothing; another
 * body is 400, a malformed key 400, a running claim 409/601 until its lease runs out; keys are
 * per user and app and last 24 hours; many concurrent repeats on several nodes (MySQL/MariaDB:
 * three nodes on one database) create one relay. Figures go to test-output/.
 */
import { writeFigures } from '../utils/test-output';
import { createHash } from 'node:crypto';
import { Clock } from '../../src/common/clock';
import { IdempotencyRetentionWorker } from '../../src/idempotency/idempotency-retention.worker';
import { canonicalJson } from '../../src/idempotency/idempotency.service';
import { anchor, Anchor, tokenFor, NO_TIMERS } from '../factories';
import { HttpAnswer, startTestApp, TestApp } from '../utils/test-app';

const ENV = { ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' };
const MYSQL = /^(mysql|mariadb):/.test(process.env.DATABASE_URL ?? '');
const DAY_MS = 24 * 3_600_000;

describe('POST /client/relay/start with Idempotency-Key', () => {
  let t: TestApp;
  let now: number;

  beforeAll(async () => {
    t = await startTestApp(ENV);
    // The app's clock stands still within a spec (set at its start), so specs can move it.
    now = Date.now();
    t.app.get(Clock).now = () => now;
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => {
    now = Date.now();
  });

  const bodyOf = (init: Anchor, recv: Anchor, extra: Record<string, unknown> = {}) => ({
    init_room_id: init.liveId,
    recv_room_id: recv.liveId,
    recv_user_id: recv.userId,
    ...extra,
  });

  const start = (node: TestApp, token: string, body: unknown, key?: string) =>
    node.call('POST', '/client/relay/start', {
      token,
      body,
      headers: key === undefined ? {} : { 'Idempotency-Key': key },
    });

  const relaysOf = async (userId: string): Promise<string[]> =>
    (
      await t.dataSource.query(
        'SELECT relay_id AS relayId FROM relay_session WHERE init_user_id = ?',
        [userId],
      )
    ).map((row: { relayId: string }) => row.relayId);

  const replayed = (answer: HttpAnswer) => answer.headers.get('idempotent-replayed');
  const newKey = () => `key-${Math.random().toString(36).slice(2)}`;

  it('answers a repeat with the first answer, a fresh request id and the replay header', async () => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const key = newKey();
    const body = bodyOf(init, recv, { mode: 'invite', extends: { b: '2', a: '1' } });
    const first = await start(t, init.token, body, key);
    expect(first.status).toBe(200);
    expect(replayed(first)).toBeNull();
    // The same body with its keys in another order is the same request.
    const again = await start(t, init.token, { extends: { a: '1', b: '2' }, ...body }, key);
    expect(again.status).toBe(200);
    expect(replayed(again)).toBe('true');
    expect(again.body).toMatchObject({ code: 0, message: 'success', data: first.body.data });
    expect(again.body.request_id).not.toBe(first.body.request_id);
    expect(again.headers.get('x-request-id')).toBe(again.body.request_id);
    expect(await relaysOf(init.userId)).toEqual([first.body.data.relay_id]);
    const [{ n }] = await t.dataSource.query(
      'SELECT COUNT(*) AS n FROM relay_event WHERE relay_id = ?',
      [first.body.data.relay_id],
    );
    expect(Number(n)).toBe(1);
  });

  it('refuses the key with another body (400) and runs nothing', async () => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const key = newKey();
    const first = await start(t, init.token, bodyOf(init, recv, { mode: 'invite' }), key);
    expect(first.status).toBe(200);
    const other = await start(t, init.token, bodyOf(init, recv, { mode: 'auto' }), key);
    expect(other).toMatchObject({ status: 400, body: { code: 400 } });
    expect(other.body.message).toMatch(/Idempotency-Key/);
    expect(replayed(other)).toBeNull();
    expect(await relaysOf(init.userId)).toHaveLength(1);
  });

  it.each([
    ['empty', ''],
    ['a space', 'two words'],
    ['129 characters', 'k'.repeat(129)],
    ['a slash', 'a/b'],
  ])('refuses a key with %s (400)', async (_, key) => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const answer = await start(t, init.token, bodyOf(init, recv), key);
    expect(answer).toMatchObject({ status: 400, body: { code: 400 } });
    expect(answer.body.message).toMatch(/Idempotency-Key/);
    expect(await relaysOf(init.userId)).toEqual([]);
  });

  it('takes a key of 128 characters of the allowed set', async () => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const key = `aZ09._:-${'x'.repeat(120)}`;
    expect((await start(t, init.token, bodyOf(init, recv), key)).status).toBe(200);
  });

  it('keeps keys apart per user and per app', async () => {
    const key = newKey();
    const [a, b] = [await anchor(t), await anchor(t)];
    const first = await start(t, a.token, bodyOf(a, b), key);
    expect(first.status).toBe(200);
    // Another user with the same key runs their own start.
    const [d, e] = [await anchor(t), await anchor(t)];
    const theirs = await start(t, d.token, bodyOf(d, e), key);
    expect(theirs.status).toBe(200);
    expect(replayed(theirs)).toBeNull();
    expect(theirs.body.data.relay_id).not.toBe(first.body.data.relay_id);
    // The same user id in another app, the same key and body: not a repeat (its rooms are not
    // in that app, hence 404).
    const otherApp = tokenFor(t, a.userId, { appId: 'other_app' });
    const elsewhere = await start(t, otherApp, bodyOf(a, b), key);
    expect(elsewhere).toMatchObject({ status: 404, body: { code: 404 } });
    expect(replayed(elsewhere)).toBeNull();
  });

  it('replays a 4xx answer even once the request would now succeed', async () => {
    const init = await anchor(t);
    const recv = await anchor(t, { live: false });
    const key = newKey();
    const body = bodyOf(init, recv);
    const first = await start(t, init.token, body, key);
    expect(first).toMatchObject({ status: 409, body: { code: 601 } });
    expect(
      (await t.call('PUT', `/client/live/room/${recv.liveId}`, { token: recv.token })).status,
    ).toBe(200);
    const again = await start(t, init.token, body, key);
    expect(again).toMatchObject({ status: 409, body: { code: 601, message: first.body.message } });
    expect(replayed(again)).toBe('true');
    expect(again.body.request_id).not.toBe(first.body.request_id);
    expect(await relaysOf(init.userId)).toEqual([]);
    // A new key runs the start again, which now succeeds.
    expect((await start(t, init.token, body, newKey())).status).toBe(200);
  });

  it('answers 409/601 while the first request runs, and takes over a claim past its lease', async () => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const key = newKey();
    const body = bodyOf(init, recv);
    const fingerprint = createHash('sha256').update(canonicalJson(body)).digest('hex');
    // A claim as a node leaves it while its start runs (or after it died mid-way).
    await t.dataSource.query(
      'INSERT INTO idempotency_key (app_id, user_id, idem_key, fingerprint, state, http_status, ' +
        "answer, created_at) VALUES ('default', ?, ?, ?, 'running', 0, NULL, ?)",
      [init.userId, key, fingerprint, now - 59_000],
    );
    const running = await start(t, init.token, body, key);
    expect(running).toMatchObject({ status: 409, body: { code: 601 } });
    expect(running.body.message).toMatch(/in progress/);
    expect(await relaysOf(init.userId)).toEqual([]);
    now += 1_000;
    // Past the lease, only a retry of the same request takes the claim over.
    const otherBody = await start(t, init.token, { ...body, mode: 'invite' }, key);
    expect(otherBody).toMatchObject({ status: 400, body: { code: 400 } });
    const takenOver = await start(t, init.token, body, key);
    expect(takenOver.status).toBe(200);
    expect(replayed(takenOver)).toBeNull();
    const repeat = await start(t, init.token, body, key);
    expect(repeat.body.data).toEqual(takenOver.body.data);
    expect(replayed(repeat)).toBe('true');
    expect(await relaysOf(init.userId)).toEqual([takenOver.body.data.relay_id]);
  });

  it('forgets a key after 24 hours, and the retention job deletes it', async () => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const key = newKey();
    const body = bodyOf(init, recv);
    const first = await start(t, init.token, body, key);
    expect(first.status).toBe(200);
    const relayId = first.body.data.relay_id;
    expect(
      (await t.call('POST', `/client/relay/${relayId}/stop`, { token: init.token })).status,
    ).toBe(200);

    const keys = async () =>
      Number(
        (
          await t.dataSource.query(
            'SELECT COUNT(*) AS n FROM idempotency_key WHERE user_id = ? AND idem_key = ?',
            [init.userId, key],
          )
        )[0].n,
      );
    const worker = t.app.get(IdempotencyRetentionWorker);
    now += DAY_MS - 1;
    expect(replayed(await start(t, init.token, body, key))).toBe('true');
    while ((await worker.deleteExpired(200)) > 0);
    expect(await keys()).toBe(1);

    now += 1;
    while ((await worker.deleteExpired(200)) > 0);
    expect(await keys()).toBe(0);
    const later = await start(t, init.token, body, key);
    expect(later.status).toBe(200);
    expect(replayed(later)).toBeNull();
    expect(later.body.data.relay_id).not.toBe(relayId);
  });

  it('runs an expired key afresh even before the retention job has deleted it', async () => {
    const [init, recv] = [await anchor(t), await anchor(t)];
    const key = newKey();
    const body = bodyOf(init, recv, { mode: 'invite' });
    const first = await start(t, init.token, body, key);
    await t.call('POST', `/client/relay/${first.body.data.relay_id}/stop`, { token: init.token });
    now += DAY_MS;
    const later = await start(t, init.token, bodyOf(init, recv), key);
    expect(later.status).toBe(200);
    expect(replayed(later)).toBeNull();
    expect(await relaysOf(init.userId)).toHaveLength(2);
  });

  it('is documented: the header with its pattern, the replay header on every answer', async () => {
    const doc = (await (await fetch(`${t.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, any>>;
    };
    const operation = doc.paths['/client/relay/start'].post;
    const header = operation.parameters.find(
      (p: { in: string; name: string }) => p.in === 'header' && p.name === 'Idempotency-Key',
    );
    expect(header).toMatchObject({
      required: false,
      schema: { pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    });
    for (const status of ['200', '400', '403', '404', '409']) {
      expect(operation.responses[status].headers['Idempotent-Replayed']).toMatchObject({
        schema: { enum: ['true'] },
      });
    }
    expect(operation.description).toMatch(/Idempotency-Key/);
  });

  describe(`10 concurrent starts with one key on ${MYSQL ? 'three nodes' : 'one node'}`, () => {
    let nodes: TestApp[];
    beforeAll(async () => {
      const others = MYSQL
        ? await Promise.all([1, 2].map(() => startTestApp({ ...ENV, DATABASE_URL: t.databaseUrl })))
        : [];
      nodes = [t, ...others];
    });
    afterAll(async () => {
      for (const node of nodes.slice(1)) await node.close();
    });

    it('create exactly one relay, and every answer is that relay or 409/601', async () => {
      const rounds = 5;
      const figures = {
        nodes: nodes.length,
        requests: 0,
        relays: 0,
        replayed: 0,
        first: 0,
        inProgress: 0,
      };
      for (let round = 0; round < rounds; round++) {
        const [init, recv] = [await anchor(t), await anchor(t)];
        const key = newKey();
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            start(nodes[i % nodes.length], init.token, bodyOf(init, recv), key),
          ),
        );
        const relays = await relaysOf(init.userId);
        expect(relays).toHaveLength(1);
        for (const answer of answers) {
          if (answer.status === 200) {
            expect(answer.body.data.relay_id).toBe(relays[0]);
            if (replayed(answer) === 'true') figures.replayed++;
            else figures.first++;
          } else {
            expect(answer).toMatchObject({ status: 409, body: { code: 601 } });
            expect(answer.body.message).toMatch(/in progress/);
            figures.inProgress++;
          }
        }
        figures.requests += answers.length;
        figures.relays += relays.length;
      }
      // Exactly one request of each round ran the start.
      expect(figures.first).toBe(rounds);
      writeFigures(`idempotency-concurrency-${MYSQL ? 'mysql' : 'sqlite'}.json`, figures);
    });
  });
});
