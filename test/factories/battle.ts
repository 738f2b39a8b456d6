/**
 * Fixtures for battles and contributions: relays whose rooms have all joined (status 4), battles
 * started on them, signed score requests, and the clock of an app moved by hand so that phase
 * moves are driven by due times instead of waited for.
 */
import { BattleService } from '../../src/battle/battle.service';
import { expectOk } from '../utils/assertions';
import { HttpAnswer, TestApp } from '../utils/test-app';
import { Anchor, groupRelay, serverCall } from './index';

export interface PkRelay {
  relayId: string;
  /** The initiator first, then the receivers, as the relay lists its rooms. */
  anchors: Anchor[];
}

/** A relay of `rooms` rooms (auto mode) in which every room has joined: status 4. */
export async function pkRelay(t: TestApp, rooms = 2): Promise<PkRelay> {
  const g = await groupRelay(t, rooms - 1);
  const anchors = [g.init, ...g.recvs];
  for (const a of anchors) {
    expectOk(await t.call('POST', `/client/relay/${g.relayId}/started`, { token: a.token }));
  }
  return { relayId: g.relayId, anchors };
}

export interface BattleBody {
  mode?: 'invite' | 'auto';
  duration_s?: number;
  countdown_s?: number;
  punishment_s?: number;
}

/** POST /client/relay/{relay_id}/battles by `by`. */
export const startBattle = (t: TestApp, r: PkRelay, by: Anchor, body: BattleBody = {}) =>
  t.call('POST', `/client/relay/${r.relayId}/battles`, { token: by.token, body });

/** An anchor's answer or stop: POST .../battles/{battle_no}/{action}. */
export const battleAction = (
  t: TestApp,
  r: PkRelay,
  by: Anchor,
  battleNo: number,
  action: 'accept' | 'reject' | 'stop',
) =>
  t.call('POST', `/client/relay/${r.relayId}/battles/${battleNo}/${action}`, { token: by.token });

export const readBattle = async (t: TestApp, r: PkRelay, battleNo: number) =>
  expectOk(
    await t.call('GET', `/client/relay/${r.relayId}/battles/${battleNo}`, {
      token: r.anchors[0].token,
    }),
  );

export interface GiftBody {
  room_id: string;
  delta?: number;
  score?: number;
  score_id?: string;
  user_id?: string;
}

/** POST /server/relay/{relay_id}/score, signed as the gift system signs it. */
export const gift = (t: TestApp, relayId: string, body: GiftBody): Promise<HttpAnswer> =>
  serverCall(t, 'POST', `/server/relay/${relayId}/score`, body);

/** A room's leaderboard page as `[user_id, amount, rank]` rows, and the next cursor. */
export async function leaderboard(
  t: TestApp,
  r: PkRelay,
  query: { room_id: string; battle_no?: number; limit?: number; cursor?: string },
): Promise<{ rows: [string, number, number][]; next: string | null }> {
  const params = new URLSearchParams(
    Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, String(v)]),
  );
  const page = expectOk(
    await t.call('GET', `/client/relay/${r.relayId}/contributions?${params.toString()}`, {
      token: r.anchors[0].token,
    }),
  );
  return {
    rows: page.list.map((c: any) => [c.user_id, c.amount, c.rank]),
    next: page.next_cursor,
  };
}

/** Runs the battle timers of `t` once, as its sweeper would. */
export const sweepBattles = (t: TestApp) => t.app.get(BattleService).advanceDue(200);
