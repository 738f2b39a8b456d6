import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

/**
 * PK scores: the scores of a session's rooms as one JSON map on its row, so a score change is
 * the same conditional update as any other change of the session, and the `score_id`s already
 * used, whose primary key makes a gift count once. Existing sessions start at 0 for both rooms.
 */
export class Scores1764460800000 implements MigrationInterface {
  name = 'Scores1764460800000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'relay_session',
      new TableColumn({ name: 'scores_json', type: 'varchar', length: '1024', default: "'{}'" }),
    );
    // Room ids are identifiers (letters, digits, _ . : -), so they need no JSON escaping.
    const sqlite = q.connection.driver.options.type === 'better-sqlite3';
    const json = sqlite
      ? `'{"' || init_room_id || '":0,"' || recv_room_id || '":0}'`
      : `CONCAT('{"', init_room_id, '":0,"', recv_room_id, '":0}')`;
    await q.query(`UPDATE relay_session SET scores_json = ${json}`);
    await q.createTable(
      new Table({
        name: 'relay_score_id',
        columns: [
          { name: 'relay_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'score_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('relay_score_id');
    await q.dropColumn('relay_session', 'scores_json');
  }
}
