/**
 * The stream feed follows the event log in id order although ids are allocated before commit:
 * an id that commits after a higher one is waited for briefly, and one that commits after the
 * feed went on is still sent, late. Events are written straight into the log here, with chosen
 * ids, to make those commit orders happen on purpose.
 */
import { NO_TIMERS, relay, RelayFixture } from '../factories';
import { openStream, SseClient } from '../utils/sse-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('stream order around ids that commit out of order', () => {
  let t: TestApp;
  let r: RelayFixture;
  let stream: SseClient;
  beforeAll(async () => {
    t = await startTestApp({ ...NO_TIMERS, ROOM_HEARTBEAT_TIMEOUT_S: '0' });
    r = await relay(t);
    stream = await openStream(t.baseUrl, '/client/relay/events', { token: r.init.token });
  });
  afterAll(async () => {
    stream.close();
    await t.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function lastId(): Promise<number> {
    const [row] = await t.dataSource.query('SELECT MAX(id) AS id FROM relay_event');
    return Number(row.id);
  }

  /** Writes an event for the fixture's relay with a chosen id, as a late commit would. */
  async function write(id: number): Promise<void> {
    await t.dataSource.query(
      'INSERT INTO relay_event (id, type, relay_id, app_id, seq, occurred_at, data, user_ids, room_ids) ' +
        "VALUES (?, 'relay.extends_updated', ?, 'default', ?, ?, ?, ?, ?)",
      [
        id,
        r.relayId,
        1000 + id,
        Date.now(),
        JSON.stringify({ changed: { probe: String(id) } }),
        `,${r.init.userId},${r.recv.userId},`,
        `,${r.init.liveId},${r.recv.liveId},`,
      ],
    );
  }

  const arrival = (id: number) => stream.messages.find((m) => Number(m.id) === id)?.at;

  it('holds a later id back until the earlier one commits, then sends both in order', async () => {
    const base = await lastId();
    await write(base + 2);
    await sleep(150);
    expect(arrival(base + 2)).toBeUndefined();
    const committed = performance.now();
    await write(base + 1);
    await stream.waitFor((ms) => ms.some((m) => Number(m.id) === base + 2), 3000);
    const ids = stream.ids().filter((id) => id > base);
    expect(ids).toEqual([base + 1, base + 2]);
    expect((arrival(base + 1) as number) - committed).toBeLessThan(600);
  });

  it('goes on without an id that stays missing, after about 300 ms', async () => {
    const base = await lastId();
    const written = performance.now();
    await write(base + 2);
    await stream.waitFor((ms) => ms.some((m) => Number(m.id) === base + 2), 4000);
    const waited = (arrival(base + 2) as number) - written;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(1000);
  });

  it('waits for several missing ids at once, not one after another', async () => {
    const base = await lastId();
    const written = performance.now();
    await write(base + 2);
    await write(base + 4);
    await write(base + 6);
    await stream.waitFor((ms) => ms.some((m) => Number(m.id) === base + 6), 5000);
    const waited = (arrival(base + 6) as number) - written;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(700);
    expect(stream.ids().filter((id) => id > base)).toEqual([base + 2, base + 4, base + 6]);
  });

  it('still sends an id that commits after the feed went on, late', async () => {
    const base = await lastId();
    await write(base + 2);
    await stream.waitFor((ms) => ms.some((m) => Number(m.id) === base + 2), 4000);
    await write(base + 1);
    await stream.waitFor((ms) => ms.some((m) => Number(m.id) === base + 1), 3000);
    expect(stream.ids().filter((id) => id > base)).toEqual([base + 2, base + 1]);
  });

  it('keeps following the log in order afterwards', async () => {
    const answer = await t.call('POST', `/client/relay/${r.relayId}/extends`, {
      token: r.init.token,
      body: { extends: { after: 'gaps' } },
    });
    expect(answer.status).toBe(200);
    const id = await lastId();
    await stream.waitFor((ms) => ms.some((m) => Number(m.id) === id), 2000);
  });
});
