import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Random PK and the server's start (docs/concepts.md, "Random PK"): the tickets and the pools'
 * lock rows; each session's `origin`, `invite` for every relay made before (only anchors started
 * relays); and the room of each member row, for the relays of a room, filled from each session's
 * rooms. The events already recorded get the shape the docs now describe: their session shows
 * `origin`.
 */
export class Matchmaking1764979200000 implements MigrationInterface {
  name = 'Matchmaking1764979200000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'relay_match_ticket',
        columns: [
          { name: 'match_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'app_id', type: 'varchar', length: '64' },
          { name: 'room_id', type: 'varchar', length: '64' },
          { name: 'user_id', type: 'varchar', length: '64' },
          { name: 'pool', type: 'varchar', length: '64' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'reason', type: 'varchar', length: '16', default: "''" },
          { name: 'relay_id', type: 'varchar', length: '64', default: "''" },
          { name: 'waiting_room', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [
          {
            name: 'uq_match_ticket_waiting_room',
            columnNames: ['app_id', 'waiting_room'],
            isUnique: true,
          },
          {
            name: 'idx_match_ticket_pool',
            columnNames: ['app_id', 'pool', 'state', 'created_at'],
          },
          { name: 'idx_match_ticket_due', columnNames: ['state', 'expires_at'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'relay_match_pool',
        columns: [
          { name: 'app_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'pool', type: 'varchar', length: '64', isPrimary: true },
          { name: 'version', type: 'bigint', default: 0 },
        ],
      }),
    );
    await q.addColumn(
      'relay_session',
      new TableColumn({ name: 'origin', type: 'varchar', length: '8', default: "'invite'" }),
    );
    await q.addColumn(
      'relay_member',
      new TableColumn({ name: 'room_id', type: 'varchar', length: '64', default: "''" }),
    );
    await eachRow<{ id: number; rooms: string }>(
      q,
      'SELECT id, rooms_json AS rooms FROM relay_session',
      async (row) => {
        for (const room of JSON.parse(row.rooms) as { roomId: string; userId: string }[]) {
          await q.query(
            'UPDATE relay_member SET room_id = ? WHERE session_id = ? AND user_id = ?',
            [room.roomId, row.id, room.userId],
          );
        }
      },
    );
    await q.createIndex(
      'relay_member',
      new TableIndex({
        name: 'idx_relay_member_room',
        columnNames: ['app_id', 'room_id', 'session_id'],
      }),
    );
    await eachRow<{ id: number; data: string }>(
      q,
      'SELECT id, data FROM relay_event',
      async (row) => {
        const data = JSON.parse(row.data) as { session?: Record<string, unknown> };
        if (data.session === undefined || 'origin' in data.session) return;
        data.session = { ...data.session, origin: 'invite' };
        await q.query('UPDATE relay_event SET data = ? WHERE id = ?', [
          JSON.stringify(data),
          row.id,
        ]);
      },
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('relay_member', 'idx_relay_member_room');
    await q.dropColumn('relay_member', 'room_id');
    await q.dropColumn('relay_session', 'origin');
    await q.dropTable('relay_match_pool');
    await q.dropTable('relay_match_ticket');
  }
}

/** Calls `each` for every row of `select` (which selects an `id`), 500 rows a read. */
async function eachRow<T extends { id: number }>(
  q: QueryRunner,
  select: string,
  each: (row: T) => Promise<void>,
): Promise<void> {
  for (let after = 0; ;) {
    const rows = (await q.query(`${select} WHERE id > ? ORDER BY id LIMIT 500`, [after])) as T[];
    for (const row of rows) await each(row);
    if (rows.length < 500) return;
    after = Number(rows[rows.length - 1].id);
  }
}
