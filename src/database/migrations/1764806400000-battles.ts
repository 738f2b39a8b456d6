import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

/**
 * Battles and contributions (docs/concepts.md, "Battles", "Contributions"): a table of battles,
 * keyed by their relay and number; a table of contributions, keyed by relay, room, battle (0 for
 * the whole relay) and user, with the ranking index; and on each session the view of its newest
 * battle, which the session shows and every event of the relay carries. The events already
 * recorded get the shape the docs now describe: their session shows `battle: null`, and a
 * score change says it counted for no battle (`battle: null`).
 *
 * The ranking index has `amount` descending, so that the leaderboard (highest amount first, then
 * the earliest to reach it, then the user id) is one walk of the index in its own order; both
 * MariaDB (10.8 on) and SQLite keep the direction, which TypeORM cannot declare.
 */
export class Battles1764806400000 implements MigrationInterface {
  name = 'Battles1764806400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'relay_battle',
        columns: [
          { name: 'relay_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'battle_no', type: 'integer', isPrimary: true },
          { name: 'app_id', type: 'varchar', length: '64' },
          { name: 'phase', type: 'varchar', length: '16' },
          { name: 'reason', type: 'varchar', length: '32', default: "''" },
          { name: 'mode', type: 'varchar', length: '8' },
          { name: 'rooms_json', type: 'varchar', length: '4096' },
          { name: 'countdown_s', type: 'integer' },
          { name: 'duration_s', type: 'integer' },
          { name: 'punishment_s', type: 'integer' },
          { name: 'created_at', type: 'bigint' },
          { name: 'invite_due_at', type: 'bigint', isNullable: true },
          { name: 'fight_start_at', type: 'bigint', isNullable: true },
          { name: 'fight_end_at', type: 'bigint', isNullable: true },
          { name: 'ended_at', type: 'bigint', isNullable: true },
          { name: 'due_at', type: 'bigint', isNullable: true },
          { name: 'settled', type: 'integer', default: 0 },
          { name: 'winner_room_id', type: 'varchar', length: '64', default: "''" },
          { name: 'mvp_json', type: 'varchar', length: '512', default: "'null'" },
          { name: 'version', type: 'integer' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [{ name: 'idx_relay_battle_due', columnNames: ['due_at'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'relay_contribution',
        columns: [
          { name: 'relay_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'room_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'battle_no', type: 'integer', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'amount', type: 'bigint' },
          { name: 'reached_at', type: 'bigint' },
        ],
      }),
    );
    await q.query(
      'CREATE INDEX idx_relay_contribution_rank ON relay_contribution ' +
        '(relay_id, room_id, battle_no, amount DESC, reached_at, user_id)',
    );
    await q.addColumn(
      'relay_session',
      new TableColumn({ name: 'battle_json', type: 'text', isNullable: true }),
    );
    for (let after = 0; ;) {
      const rows = (await q.query(
        'SELECT id, type, data FROM relay_event WHERE id > ? ORDER BY id LIMIT 500',
        [after],
      )) as { id: number; type: string; data: string }[];
      for (const row of rows) {
        const data = JSON.parse(row.data) as Record<string, unknown>;
        const next = withoutBattle(row.type, data);
        if (next !== data) {
          await q.query('UPDATE relay_event SET data = ? WHERE id = ?', [
            JSON.stringify(next),
            row.id,
          ]);
        }
      }
      if (rows.length < 500) break;
      after = Number(rows[rows.length - 1].id);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('relay_session', 'battle_json');
    await q.dropTable('relay_contribution');
    await q.dropTable('relay_battle');
  }
}

/** `fields` with `battle: null` after the key `after`, unless it has a battle already. */
function withBattle(fields: Record<string, unknown>, after: string): Record<string, unknown> {
  if ('battle' in fields) return fields;
  const entries = Object.entries(fields);
  const at = entries.findIndex(([key]) => key === after) + 1;
  return Object.fromEntries([...entries.slice(0, at), ['battle', null], ...entries.slice(at)]);
}

/** An event recorded before battles: its session, and a score change, showing none. */
function withoutBattle(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const session = data.session as Record<string, unknown> | undefined;
  const next = type === 'relay.score_changed' ? withBattle(data, 'scores') : { ...data };
  if (session !== undefined) next.session = withBattle(session, 'winner_room_id');
  return next.battle === data.battle && next.session === data.session ? data : next;
}
