import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

const OLD_PARTICIPANTS = ['init_user_id', 'recv_user_id', 'init_room_id', 'recv_room_id'];

/**
 * Group relays: a session's rooms and their states on its row (`rooms_json`), who takes part in
 * which relay (`relay_member`, the list's index now that a relay has several receivers), and
 * every anchor and room of the relay on each event (`user_ids`, `room_ids`) in place of the
 * initiator's and the receiver's columns.
 *
 * Existing relays have two rooms, and their states follow from the status (pairStates). The
 * sessions recorded in existing events get their `rooms` the same way, so that every event
 * has the shape the API describes, whenever it was recorded.
 */
export class GroupRelays1764633600000 implements MigrationInterface {
  name = 'GroupRelays1764633600000';

  async up(q: QueryRunner): Promise<void> {
    const concat = concatFor(q);
    await q.addColumn(
      'relay_session',
      new TableColumn({ name: 'rooms_json', type: 'varchar', length: '2048', default: "'[]'" }),
    );
    await eachRow<OldSession>(
      q,
      'SELECT id, status, stop_reason AS stopReason, start_at AS startAt, init_user_id AS initUserId, ' +
        'init_room_id AS initRoomId, recv_user_id AS recvUserId, recv_room_id AS recvRoomId ' +
        'FROM relay_session',
      async (row) => {
        const started = row.startAt !== null;
        const states = pairStates(Number(row.status), row.stopReason, started);
        const agreedAt = started ? Number(row.startAt) : null;
        const rooms = [
          { roomId: row.initRoomId, userId: row.initUserId, role: 'init', ...states[0], agreedAt },
          { roomId: row.recvRoomId, userId: row.recvUserId, role: 'recv', ...states[1], agreedAt },
        ];
        await q.query('UPDATE relay_session SET rooms_json = ? WHERE id = ?', [
          JSON.stringify(rooms),
          row.id,
        ]);
      },
    );

    await q.createTable(
      new Table({
        name: 'relay_member',
        columns: [
          { name: 'app_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'session_id', type: 'bigint', isPrimary: true },
          { name: 'role', type: 'varchar', length: '8' },
        ],
      }),
    );
    for (const role of ['init', 'recv']) {
      await q.query(
        `INSERT INTO relay_member (app_id, user_id, session_id, role) ` +
          `SELECT app_id, ${role}_user_id, id, '${role}' FROM relay_session`,
      );
    }
    await q.dropIndex('relay_session', 'idx_relay_session_init');
    await q.dropIndex('relay_session', 'idx_relay_session_recv');

    await q.addColumns('relay_event', [
      new TableColumn({ name: 'user_ids', type: 'varchar', length: '640', default: "''" }),
      new TableColumn({ name: 'room_ids', type: 'varchar', length: '640', default: "''" }),
    ]);
    await q.query(
      `UPDATE relay_event SET user_ids = ${concat("','", 'init_user_id', "','", 'recv_user_id', "','")}, ` +
        `room_ids = ${concat("','", 'init_room_id', "','", 'recv_room_id', "','")}`,
    );
    await q.dropColumns('relay_event', OLD_PARTICIPANTS);
    await eachRow<{ id: number; data: string }>(
      q,
      'SELECT id, data FROM relay_event',
      async (row) => {
        const data = JSON.parse(row.data) as { session?: OldSessionView };
        if (data.session === undefined || data.session.rooms !== undefined) return;
        data.session = withRooms(data.session);
        await q.query('UPDATE relay_event SET data = ? WHERE id = ?', [
          JSON.stringify(data),
          row.id,
        ]);
      },
    );
  }

  /** Back to two rooms: the initiator's and the first receiver's, as the session names them. */
  async down(q: QueryRunner): Promise<void> {
    await q.addColumns(
      'relay_event',
      OLD_PARTICIPANTS.map(
        (name) => new TableColumn({ name, type: 'varchar', length: '64', default: "''" }),
      ),
    );
    for (const column of OLD_PARTICIPANTS) {
      await q.query(
        `UPDATE relay_event SET ${column} = COALESCE((SELECT s.${column} FROM relay_session s ` +
          `WHERE s.relay_id = relay_event.relay_id), '')`,
      );
    }
    await q.dropColumns('relay_event', ['user_ids', 'room_ids']);
    await q.createIndex(
      'relay_session',
      new TableIndex({
        name: 'idx_relay_session_init',
        columnNames: ['app_id', 'init_user_id', 'id'],
      }),
    );
    await q.createIndex(
      'relay_session',
      new TableIndex({
        name: 'idx_relay_session_recv',
        columnNames: ['app_id', 'recv_user_id', 'id'],
      }),
    );
    await q.dropTable('relay_member');
    await q.dropColumn('relay_session', 'rooms_json');
  }
}

interface OldSession {
  id: number;
  status: number;
  stopReason: string;
  startAt: number | null;
  initUserId: string;
  initRoomId: string;
  recvUserId: string;
  recvRoomId: string;
}

type OldSessionView = Record<string, unknown> & {
  init_user_id: string;
  init_room_id: string;
  recv_user_id: string;
  recv_room_id: string;
  status: number;
  stop_reason: string;
  start_at: string | null;
  rooms?: unknown;
};

type RoomState = { state: string; reason: string };

/**
 * The initiator's and the receiver's room of a two-room relay, from its status: 0 receiver
 * invited, 1 both agreed, 2 and 3 one side joined, 4 both joined, 5 receiver rejected. An ended
 * relay shows the rooms as far as its record tells: a cancelled invitation's initiator left; an
 * invitation stopped otherwise was left by its receiver, and an expired one rejected; else the
 * rooms are as they were once agreed (or invited, when the relay never was).
 */
function pairStates(status: number, stopReason: string, started: boolean): [RoomState, RoomState] {
  const at = (state: string, reason = ''): RoomState => ({ state, reason });
  const ended = status === 6;
  const init =
    status === 2 || status === 4
      ? at('joined')
      : ended && stopReason === 'cancelled'
        ? at('left', 'stopped')
        : at('agreed');
  const recv =
    status === 3 || status === 4
      ? at('joined')
      : status === 5
        ? at('rejected', 'rejected')
        : ended && stopReason === 'invite_timeout'
          ? at('rejected', 'invite_timeout')
          : ended && stopReason === 'stopped' && !started
            ? at('left', 'stopped')
            : started
              ? at('agreed')
              : at('invited');
  return [init, recv];
}

/** A session as an old event recorded it, with `rooms` after `recv_user_id`, as the API has it. */
function withRooms(session: OldSessionView): OldSessionView {
  const states = pairStates(session.status, session.stop_reason, session.start_at !== null);
  const rooms = [
    { room_id: session.init_room_id, user_id: session.init_user_id, role: 'init', ...states[0] },
    { room_id: session.recv_room_id, user_id: session.recv_user_id, role: 'recv', ...states[1] },
  ];
  const entries = Object.entries(session).flatMap(([key, value]) =>
    key === 'recv_user_id'
      ? [[key, value] as const, ['rooms', rooms] as const]
      : [[key, value] as const],
  );
  return Object.fromEntries(entries) as OldSessionView;
}

/** Calls `each` for every row of `select` (which has an `id`), 500 rows at a time. */
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

function concatFor(q: QueryRunner): (...parts: string[]) => string {
  return q.connection.driver.options.type === 'better-sqlite3'
    ? (...parts) => `(${parts.join(' || ')})`
    : (...parts) => `CONCAT(${parts.join(', ')})`;
}
