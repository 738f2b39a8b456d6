/**
 * The battles migration on the database of the version before it: up keeps every relay (its
 * newest battle null), makes the battle and contribution tables with the ranking index in its
 * order (amount descending), and leaves nothing for `schema:log` to change; down undoes all of it
 * and up works again.
 */
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../src/app.schema';
import { Battles1764806400000 } from '../../src/database/migrations/1764806400000-battles';
import { FreshDatabase, freshDatabase } from '../utils/test-app';
import { withDatabase } from '../utils/database';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(Battles1764806400000));

/** The columns of the ranking index in order, each with its direction. */
async function rankingIndex(dataSource: DataSource): Promise<string[]> {
  if (dataSource.options.type === 'better-sqlite3') {
    const rows: { name: string | null; desc: number; key: number }[] = await dataSource.query(
      "PRAGMA index_xinfo('idx_relay_contribution_rank')",
    );
    return rows.filter((r) => r.key === 1).map((r) => `${r.name} ${r.desc ? 'DESC' : 'ASC'}`);
  }
  const rows: { Column_name: string; Collation: string }[] = await dataSource.query(
    "SHOW INDEX FROM relay_contribution WHERE Key_name = 'idx_relay_contribution_rank'",
  );
  return rows.map((r) => `${r.Column_name} ${r.Collation === 'D' ? 'DESC' : 'ASC'}`);
}

async function tables(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    const found: string[] = [];
    for (const name of ['relay_battle', 'relay_contribution']) {
      if (await runner.hasTable(name)) found.push(name);
    }
    if (await runner.hasColumn('relay_session', 'battle_json'))
      found.push('relay_session.battle_json');
    return found;
  } finally {
    await runner.release();
  }
}

describe('the battles migration', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('upgrades a database with relays, and down and up again', async () => {
    await withDatabase(db.url, BEFORE, async (old) => {
      await old.runMigrations({ transaction: 'each' });
      await old.query(
        'INSERT INTO relay_session (relay_id, app_id, init_user_id, init_room_id, recv_user_id, ' +
          "recv_room_id, status, extends_json, version, created_at, updated_at) VALUES ('relay_old', " +
          "'default', 'a', 'ra', 'b', 'rb', 4, '{}', 3, 0, 0)",
      );
    });
    await withDatabase(db.url, MIGRATIONS, async (dataSource) => {
      expect(await dataSource.runMigrations({ transaction: 'each' })).toHaveLength(
        MIGRATIONS.length - BEFORE.length,
      );
      expect(await tables(dataSource)).toEqual([
        'relay_battle',
        'relay_contribution',
        'relay_session.battle_json',
      ]);
      expect(await rankingIndex(dataSource)).toEqual([
        'relay_id ASC',
        'room_id ASC',
        'battle_no ASC',
        'amount DESC',
        'reached_at ASC',
        'user_id ASC',
      ]);
      const [old] = await dataSource.query(
        "SELECT battle_json AS battle, version FROM relay_session WHERE relay_id = 'relay_old'",
      );
      expect({ battle: old.battle, version: Number(old.version) }).toEqual({
        battle: null,
        version: 3,
      });
      const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
      expect(upQueries.map((q) => q.query)).toEqual([]);

      const runner = dataSource.createQueryRunner();
      try {
        await new Battles1764806400000().down(runner);
        expect(await tables(dataSource)).toEqual([]);
        await new Battles1764806400000().up(runner);
        expect(await tables(dataSource)).toHaveLength(3);
        expect(await rankingIndex(dataSource)).toContain('amount DESC');
      } finally {
        await runner.release();
      }
    });
  });
});
