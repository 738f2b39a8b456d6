/**
 * docs/concepts.md, "Battles": each phase move of a battle is made at exactly its due time,
 * computed from the start and the battle's countdown, duration and punishment; a phase of 0 s
 * is skipped. The e2e specs check the same moves over HTTP; here every setting is a table row.
 */
import { BattleService } from '../../src/battle/battle.service';
import { RelayService } from '../../src/relay/relay.service';
import { joinAll, serviceRelay } from '../factories/service';
import { MediumApp, startMediumApp } from '../utils/medium-app';

const S = 1000;

describe('battle phase timers, at due times set by the fake clock', () => {
  let app: MediumApp;
  let battles: BattleService;

  beforeAll(async () => {
    app = await startMediumApp({ RELAY_JOIN_TIMEOUT_S: '0', ROOM_HEARTBEAT_TIMEOUT_S: '0' });
    battles = app.get(BattleService);
  });
  afterAll(() => app.close());

  /** Several sweeps at once: a move made twice would show as a second event. */
  async function sweepAt(at: number): Promise<void> {
    app.clock.set(at);
    await Promise.all([battles.advanceDue(200), battles.advanceDue(200)]);
  }

  it.each([
    // countdown, fight, punishment (s) -> the phases it goes through, with their start (s)
    [
      3,
      20,
      5,
      [
        ['fighting', 3],
        ['punishment', 23],
        ['ended', 28],
      ],
    ],
    [
      0,
      20,
      5,
      [
        ['punishment', 20],
        ['ended', 25],
      ],
    ],
    [
      3,
      20,
      0,
      [
        ['fighting', 3],
        ['ended', 23],
      ],
    ],
    [0, 10, 0, [['ended', 10]]],
    [
      60,
      3600,
      300,
      [
        ['fighting', 60],
        ['punishment', 3660],
        ['ended', 3960],
      ],
    ],
  ] as [number, number, number, [string, number][]][])(
    'countdown %i s, fight %i s, punishment %i s: each move at its due time, once',
    async (countdown_s, duration_s, punishment_s, moves) => {
      const t0 = app.clock.begin();
      const r = await serviceRelay(app);
      await joinAll(app, r);
      const started = await battles.start(r.init.user, r.relayId, {
        mode: 'auto',
        countdown_s,
        duration_s,
        punishment_s,
      });
      expect(started.phase).toBe(countdown_s > 0 ? 'countdown' : 'fighting');
      let phase = started.phase;
      for (const [next, atS] of moves) {
        await sweepAt(t0 + atS * S - 1);
        expect((await battles.get(r.init.user, r.relayId, 1)).phase).toBe(phase);
        await sweepAt(t0 + atS * S);
        phase = (await battles.get(r.init.user, r.relayId, 1)).phase;
        expect(phase).toBe(next);
      }
      const logged = await app.dataSource.query(
        "SELECT occurred_at AS at FROM relay_event WHERE relay_id = ? AND type = 'relay.battle_changed' ORDER BY id",
        [r.relayId],
      );
      expect(logged.map((e: { at: unknown }) => Number(e.at))).toEqual([
        t0,
        ...moves.map(([, atS]) => t0 + atS * S),
      ]);
      await app.get(RelayService).stop(r.init.user, r.relayId);
    },
  );

  it('rejects the rooms that do not answer an invitation by BATTLE_INVITE_TIMEOUT_S', async () => {
    const t0 = app.clock.begin();
    const r = await serviceRelay(app);
    await joinAll(app, r);
    await battles.start(r.init.user, r.relayId, { mode: 'invite' });
    const due = t0 + app.config.battle.inviteTimeoutS * S;
    await sweepAt(due - 1);
    expect((await battles.get(r.init.user, r.relayId, 1)).phase).toBe('invited');
    await sweepAt(due);
    expect(await battles.get(r.init.user, r.relayId, 1)).toMatchObject({
      phase: 'ended',
      reason: 'invite_timeout',
    });
    await app.get(RelayService).stop(r.init.user, r.relayId);
  });
});
