import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * `rooms_json` grows from 2048 to 4096 characters. Nine rooms whose ids and anchors take the
 * 64 characters identifiers may have, all left with a reason and a time, need about 2,100, and
 * MySQL in strict mode refuses the update that records them (a relay that could never end).
 *
 * On MySQL/MariaDB a MODIFY, because TypeORM's changeColumn drops and re-adds a column whose
 * length changes, with its data. SQLite does not enforce the length; changeColumn rebuilds the
 * table with its rows, so that the declared type matches the entity.
 */
export class RoomsJsonWider1764720000000 implements MigrationInterface {
  name = 'RoomsJsonWider1764720000000';

  up(q: QueryRunner): Promise<void> {
    return resize(q, 4096);
  }

  down(q: QueryRunner): Promise<void> {
    return resize(q, 2048);
  }
}

async function resize(q: QueryRunner, length: number): Promise<void> {
  if (q.connection.driver.options.type !== 'better-sqlite3') {
    await q.query(
      `ALTER TABLE relay_session MODIFY rooms_json varchar(${length}) NOT NULL DEFAULT '[]'`,
    );
    return;
  }
  await q.changeColumn(
    'relay_session',
    'rooms_json',
    new TableColumn({
      name: 'rooms_json',
      type: 'varchar',
      length: String(length),
      default: "'[]'",
    }),
  );
}
