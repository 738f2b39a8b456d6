import { Injectable } from '@nestjs/common';
import { Sql, SqlReader } from '../database/database.service';
import { Table } from '../database/table';
import { Battle } from './battle.machine';

/** A battle as the service works with it: the machine's state, its relay and its row's version. */
export interface StoredBattle extends Battle {
  relayId: string;
  appId: string;
  dueAt: number | null;
  version: number;
  updatedAt: number;
}

const BATTLE = new Table<StoredBattle>('relay_battle', {
  relayId: 'relay_id',
  battleNo: { name: 'battle_no', number: true },
  appId: 'app_id',
  phase: 'phase',
  reason: 'reason',
  mode: 'mode',
  rooms: { name: 'rooms_json', json: true },
  countdownS: { name: 'countdown_s', number: true },
  durationS: { name: 'duration_s', number: true },
  punishmentS: { name: 'punishment_s', number: true },
  createdAt: { name: 'created_at', number: true },
  inviteDueAt: { name: 'invite_due_at', number: true },
  fightStartAt: { name: 'fight_start_at', number: true },
  fightEndAt: { name: 'fight_end_at', number: true },
  endedAt: { name: 'ended_at', number: true },
  dueAt: { name: 'due_at', number: true },
  settled: { name: 'settled', boolean: true },
  winnerRoomId: 'winner_room_id',
  mvp: { name: 'mvp_json', json: true },
  version: { name: 'version', number: true },
  updatedAt: { name: 'updated_at', number: true },
});

const SELECT = `SELECT ${BATTLE.select()} FROM relay_battle`;
const INSERT = BATTLE.insert();
/** Everything a move can change; the battle's relay, number, mode and lengths never do. */
const UPDATE = BATTLE.update(
  [
    'phase',
    'reason',
    'rooms',
    'inviteDueAt',
    'fightStartAt',
    'fightEndAt',
    'endedAt',
    'dueAt',
    'settled',
    'winnerRoomId',
    'mvp',
    'version',
    'updatedAt',
  ],
  'relay_id = ? AND battle_no = ? AND version = ?',
);

/** SQL for battles; always used inside the transaction that holds their relay's row lock. */
@Injectable()
export class BattleStore {
  async find(sql: SqlReader, relayId: string, battleNo: number): Promise<StoredBattle | null> {
    const rows = await sql.rows<StoredBattle>(`${SELECT} WHERE relay_id = ? AND battle_no = ?`, [
      relayId,
      battleNo,
    ]);
    return rows.length === 0 ? null : BATTLE.read(rows[0]);
  }

  /** The relay's battle with the highest number, or null; served by the primary key. */
  async newest(sql: SqlReader, relayId: string): Promise<StoredBattle | null> {
    const rows = await sql.rows<StoredBattle>(
      `${SELECT} WHERE relay_id = ? ORDER BY battle_no DESC LIMIT 1`,
      [relayId],
    );
    return rows.length === 0 ? null : BATTLE.read(rows[0]);
  }

  insert(sql: Sql, b: StoredBattle): void {
    sql.later(INSERT.sql, INSERT.params(b));
  }

  /** Writes `next` over the row read at version `read`. */
  update(sql: Sql, next: StoredBattle, read: number): void {
    sql.later(UPDATE.sql, UPDATE.params(next, next.relayId, next.battleNo, read), { changes: 1 });
  }

  /** The relay's battles, newest first; served by the primary key. */
  async list(
    sql: SqlReader,
    relayId: string,
    beforeNo: number | null,
    limit: number,
  ): Promise<StoredBattle[]> {
    const rows = await sql.rows<StoredBattle>(
      `${SELECT} WHERE relay_id = ?${beforeNo === null ? '' : ' AND battle_no < ?'} ` +
        'ORDER BY battle_no DESC LIMIT ?',
      beforeNo === null ? [relayId, limit] : [relayId, beforeNo, limit],
    );
    return rows.map((row) => BATTLE.read(row));
  }

  /** The relays whose battle has a phase move due, oldest due first; idx_relay_battle_due. */
  async findDue(sql: SqlReader, now: number, limit: number): Promise<string[]> {
    const rows = await sql.rows<{ relayId: string }>(
      'SELECT relay_id AS relayId FROM relay_battle WHERE due_at <= ? ORDER BY due_at LIMIT ?',
      [now, limit],
    );
    return rows.map((row) => row.relayId);
  }
}
