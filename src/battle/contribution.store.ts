import { Injectable } from '@nestjs/common';
import { Database, Sql, SqlReader } from '../database/database.service';
import { Table } from '../database/table';

/** What one user gave one room of a relay: over the whole relay (battle 0) or in a battle. */
export interface Contribution {
  relayId: string;
  roomId: string;
  /** 0 for the whole relay. */
  battleNo: number;
  userId: string;
  amount: number;
  reachedAt: number;
}

/** Where a page of a leaderboard ends: its last entry, and that entry's rank. */
export interface RankPosition {
  amount: number;
  reachedAt: number;
  userId: string;
  rank: number;
}

const CONTRIBUTION = new Table<Contribution>('relay_contribution', {
  relayId: 'relay_id',
  roomId: 'room_id',
  battleNo: { name: 'battle_no', number: true },
  userId: 'user_id',
  amount: { name: 'amount', number: true },
  reachedAt: { name: 'reached_at', number: true },
});
const INSERT = CONTRIBUTION.insert();

/**
 * The leaderboard's order: highest amount first, then who reached their amount first, then the
 * user id, which idx_relay_contribution_rank holds in this order (amount descending). A page
 * after a position starts where `amount <= ?` begins in the index and skips only the entries of
 * that same amount that come before the position, so a deep page costs what the first does.
 */
const RANKED =
  `SELECT ${CONTRIBUTION.select(['userId', 'amount', 'reachedAt'])} FROM relay_contribution ` +
  'WHERE relay_id = ? AND room_id = ? AND battle_no = ?';
const ORDER = ' ORDER BY amount DESC, reached_at, user_id LIMIT ?';
const AFTER =
  ' AND amount <= ? AND (amount < ? OR reached_at > ? OR (reached_at = ? AND user_id > ?))';

type Ranked = Pick<Contribution, 'userId' | 'amount' | 'reachedAt'>;

/** SQL for contributions; written only inside the transaction of the score that adds them. */
@Injectable()
export class ContributionStore {
  /** Adds each amount to its row, made at 0 when missing; `reachedAt` becomes the gift's time. */
  private readonly addSql: (rows: number) => string;

  constructor(db: Database) {
    const upsert =
      db.kind === 'mysql'
        ? ' ON DUPLICATE KEY UPDATE amount = amount + VALUES(amount), reached_at = VALUES(reached_at)'
        : ' ON CONFLICT (relay_id, room_id, battle_no, user_id) DO UPDATE SET ' +
          'amount = amount + excluded.amount, reached_at = excluded.reached_at';
    this.addSql = (rows) => INSERT.rows(rows) + upsert;
  }

  add(sql: Sql, gifts: Contribution[]): void {
    if (gifts.length === 0) return;
    sql.later(
      this.addSql(gifts.length),
      gifts.flatMap((g) => INSERT.params(g)),
    );
  }

  /** One page of a room's leaderboard in a relay (battle 0) or a battle, after `after`. */
  async page(
    sql: SqlReader,
    key: Pick<Contribution, 'relayId' | 'roomId' | 'battleNo'>,
    after: RankPosition | null,
    limit: number,
  ): Promise<Ranked[]> {
    const params: unknown[] = [key.relayId, key.roomId, key.battleNo];
    if (after !== null) {
      params.push(after.amount, after.amount, after.reachedAt, after.reachedAt, after.userId);
    }
    params.push(limit);
    const rows = await sql.rows<Ranked>(RANKED + (after === null ? '' : AFTER) + ORDER, params);
    return rows.map((row) => CONTRIBUTION.read(row));
  }

  /** The first of a room's leaderboard in a battle, or null when nobody gave. */
  async top(
    sql: SqlReader,
    key: Pick<Contribution, 'relayId' | 'roomId' | 'battleNo'>,
  ): Promise<Ranked | null> {
    const [first] = await this.page(sql, key, null, 1);
    return first ?? null;
  }
}
