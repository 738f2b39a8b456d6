/**
 * The matchmaking migration on the database of the version before it: up keeps every relay
 * (its origin `invite`), gives each member row its room (a group relay's rooms included), shows
 * the origin in the sessions of the events already recorded, makes the ticket and pool tables,
 * and leaves nothing for `schema:log` to change; down undoes it and up works again.
 */
import { MIGRATIONS } from '../../src/app.schema';
import { Matchmaking1764979200000 } from '../../src/database/migrations/1764979200000-matchmaking';
import { FreshDatabase, freshDatabase } from '../utils/test-app';
import { withDatabase } from '../utils/database';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(Matchmaking1764979200000));

const room = (roomId: string, userId: string, role: 'init' | 'recv') => ({
  roomId,
  userId,
  role,
  state: 'joined',
  reason: '',
  agreedAt: 0,
});

describe('the matchmaking migration', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('upgrades a database with relays and events, and down and up again', async () => {
    const session = { relay_id: 'relay_trio', status: 4, winner_room_id: '', battle: null };
    await withDatabase(db.url, BEFORE, async (old) => {
      await old.runMigrations({ transaction: 'each' });
      const rooms = [
        room('room_a', 'alice', 'init'),
        room('room_b', 'bob', 'recv'),
        room('room_c', 'carol', 'recv'),
      ];
      await old.query(
        'INSERT INTO relay_session (relay_id, app_id, init_user_id, init_room_id, recv_user_id, ' +
          'recv_room_id, status, extends_json, version, created_at, updated_at, rooms_json) VALUES ' +
          "('relay_trio', 'default', 'alice', 'room_a', 'bob', 'room_b', 4, '{}', 1, 0, 0, ?)",
        [JSON.stringify(rooms)],
      );
      const [{ id }] = await old.query(
        "SELECT id FROM relay_session WHERE relay_id = 'relay_trio'",
      );
      for (const r of rooms) {
        await old.query(
          "INSERT INTO relay_member (app_id, user_id, session_id, role) VALUES ('default', ?, ?, ?)",
          [r.userId, id, r.role],
        );
      }
      await old.query(
        'INSERT INTO relay_event (type, relay_id, app_id, seq, occurred_at, data) VALUES ' +
          "('relay.status_changed', 'relay_trio', 'default', 1, 0, ?)",
        [JSON.stringify({ from: null, to: 4, reason: '', session })],
      );
    });
    await withDatabase(db.url, MIGRATIONS, async (dataSource) => {
      // Matchmaking and the migrations after it.
      expect(await dataSource.runMigrations({ transaction: 'each' })).toHaveLength(
        MIGRATIONS.length - BEFORE.length,
      );
      const members: { user: string; room: string }[] = await dataSource.query(
        'SELECT user_id AS user, room_id AS room FROM relay_member ORDER BY user_id',
      );
      expect(members).toEqual([
        { user: 'alice', room: 'room_a' },
        { user: 'bob', room: 'room_b' },
        { user: 'carol', room: 'room_c' },
      ]);
      const [relay] = await dataSource.query('SELECT origin FROM relay_session');
      expect(relay.origin).toBe('invite');
      const [event] = await dataSource.query('SELECT data FROM relay_event');
      expect(JSON.parse(event.data).session).toEqual({ ...session, origin: 'invite' });
      const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
      expect(upQueries.map((q) => q.query)).toEqual([]);

      const runner = dataSource.createQueryRunner();
      try {
        await new Matchmaking1764979200000().down(runner);
        expect(await runner.hasTable('relay_match_ticket')).toBe(false);
        expect(await runner.hasColumn('relay_member', 'room_id')).toBe(false);
        expect(await runner.hasColumn('relay_session', 'origin')).toBe(false);
        await new Matchmaking1764979200000().up(runner);
        expect(await runner.hasTable('relay_match_pool')).toBe(true);
        const [again] = await dataSource.query('SELECT data FROM relay_event');
        expect(JSON.parse(again.data).session).toEqual({ ...session, origin: 'invite' });
      } finally {
        await runner.release();
      }
    });
  });
});
