/**
 * The unit of work's deferred writes and packets (src/database/database.service.ts, Sql.later):
 * what a unit sees and what it commits must be exactly what statements run one by one would give,
 * on SQLite and on MySQL/MariaDB (where the statements of one turn, and the deferred writes with
 * COMMIT, travel together as one multi-statement packet).
 */
import { ConcurrentUpdate, Database, Sql } from '../../src/database/database.service';
import { startTestApp, TestApp } from '../utils/test-app';

describe('units of work: deferred writes and packets', () => {
  let t: TestApp;
  let db: Database;
  let retries: () => Promise<number>;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(Database);
    const id = db.kind === 'mysql' ? 'INT PRIMARY KEY' : 'INTEGER PRIMARY KEY';
    await t.dataSource.query(`CREATE TABLE packet_probe (id ${id}, v INT NOT NULL)`);
    retries = async () => {
      const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
      return [...metrics.matchAll(/^database_transaction_retries_total\{reason="race"\} (\d+)/gm)]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    };
  });
  afterAll(async () => {
    await t.close();
  });

  beforeEach(async () => {
    await t.dataSource.query('DELETE FROM packet_probe');
    await t.dataSource.query('INSERT INTO packet_probe (id, v) VALUES (1, 10), (2, 20)');
  });

  const values = async () =>
    (
      await t.dataSource.query<{ id: number; v: number }[]>(
        'SELECT id, v FROM packet_probe ORDER BY id',
      )
    ).map((r) => [Number(r.id), Number(r.v)]);

  it('commits deferred writes, in the order written, with the unit', async () => {
    await db.transaction(async (sql) => {
      sql.later('UPDATE packet_probe SET v = v * 2 WHERE id = ?', [1]);
      sql.later('UPDATE packet_probe SET v = v + 1 WHERE id = ?', [1]);
      sql.later('INSERT INTO packet_probe (id, v) VALUES (?, ?)', [3, 30]);
      return Promise.resolve();
    });
    expect(await values()).toEqual([
      [1, 21],
      [2, 20],
      [3, 30],
    ]);
  });

  it('runs a deferred write before the statement that follows it, which sees it', async () => {
    const seen = await db.transaction(async (sql) => {
      sql.later('UPDATE packet_probe SET v = ? WHERE id = ?', [11, 1]);
      const [row] = await sql.rows<{ v: number }>('SELECT v FROM packet_probe WHERE id = ?', [1]);
      sql.later('UPDATE packet_probe SET v = ? WHERE id = ?', [Number(row.v) + 1, 1]);
      return Number(row.v);
    });
    expect(seen).toBe(11);
    expect(await values()).toEqual([
      [1, 12],
      [2, 20],
    ]);
  });

  it('answers each statement of one turn (a Promise.all) with its own result', async () => {
    const [one, two, none, changed] = await db.transaction((sql) =>
      Promise.all([
        sql.rows<{ v: number }>('SELECT v FROM packet_probe WHERE id = ?', [1]),
        sql.rows<{ v: number }>('SELECT v FROM packet_probe WHERE id = ?', [2]),
        sql.rows<{ v: number }>('SELECT v FROM packet_probe WHERE id = ?', [99]),
        sql.run('UPDATE packet_probe SET v = v + 5 WHERE id IN (?, ?)', [1, 2]),
      ]),
    );
    expect(one.map((r) => Number(r.v))).toEqual([10]);
    expect(two.map((r) => Number(r.v))).toEqual([20]);
    expect(none).toEqual([]);
    expect(changed).toBe(2);
  });

  it('tells a deferred insert its id before the unit is over', async () => {
    const table = db.kind === 'mysql' ? 'INT AUTO_INCREMENT PRIMARY KEY' : 'INTEGER PRIMARY KEY';
    await t.dataSource.query(`CREATE TABLE IF NOT EXISTS packet_ids (id ${table}, v INT)`);
    let told = 0;
    let afterCommit = -1;
    await db.transaction(async (sql) => {
      sql.later('INSERT INTO packet_ids (v) VALUES (?)', [1], { inserted: (id) => (told = id) });
      sql.afterCommit(() => (afterCommit = told));
      return Promise.resolve();
    });
    const [last] = await t.dataSource.query<{ id: number }[]>(
      'SELECT MAX(id) AS id FROM packet_ids',
    );
    expect(told).toBe(Number(last.id));
    expect(afterCommit).toBe(told);
  });

  // On MariaDB a checked write is checked by the server, in a compound statement that travels
  // with COMMIT; MySQL has none, so there checked writes go first, alone. Both ways are tried
  // on MariaDB (the second by a Database told to work as on MySQL).
  const ways = /^(mysql|mariadb):/.test(process.env.DATABASE_URL ?? '')
    ? ['checked by the server (MariaDB)', 'answered before COMMIT (as on MySQL)']
    : ['on SQLite'];

  describe.each(ways)('checked writes, %s', (way) => {
    let unit: Database;
    beforeAll(() => {
      unit =
        way === ways[1]
          ? (Object.create(db, { checksInServer: { value: false } }) as Database)
          : db;
    });
    it('rolls the whole unit back when a checked deferred write changed other rows, and runs it again', async () => {
      const before = await retries();
      let attempts = 0;
      await expect(
        unit.transaction(async (sql) => {
          attempts++;
          sql.later('UPDATE packet_probe SET v = ? WHERE id = ?', [99, 2]);
          // Version check that never holds: the unit must fail as a race, and commit nothing.
          sql.later('UPDATE packet_probe SET v = ? WHERE id = ? AND v = ?', [98, 1, -1], {
            changes: 1,
          });
          sql.later('UPDATE packet_probe SET v = ? WHERE id = ?', [97, 1]);
          return Promise.resolve();
        }),
      ).rejects.toBeInstanceOf(ConcurrentUpdate);
      expect(attempts).toBeGreaterThan(1);
      expect(await retries()).toBe(before + attempts - 1);
      expect(await values()).toEqual([
        [1, 10],
        [2, 20],
      ]);
    });

    it('fails the statements waiting with a checked write that did not hold', async () => {
      let read: unknown = 'not settled';
      await expect(
        unit.transaction(async (sql) => {
          sql.later('UPDATE packet_probe SET v = ? WHERE id = ? AND v = ?', [5, 1, -1], {
            changes: 1,
          });
          read = await sql.rows('SELECT v FROM packet_probe WHERE id = ?', [1]).catch((e) => e);
          return Promise.resolve();
        }),
      ).rejects.toBeInstanceOf(ConcurrentUpdate);
      expect(read).toBeInstanceOf(ConcurrentUpdate);
    });

    it('commits a checked deferred write that changed its rows', async () => {
      await unit.transaction(async (sql) => {
        sql.later('UPDATE packet_probe SET v = ? WHERE id = ? AND v = ?', [15, 1, 10], {
          changes: 1,
        });
        sql.later('UPDATE packet_probe SET v = ? WHERE id IN (?, ?)', [0, 1, 2], { changes: 2 });
        return Promise.resolve();
      });
      expect(await values()).toEqual([
        [1, 0],
        [2, 0],
      ]);
    });
  });

  it('rolls back the writes already sent when a later statement fails', async () => {
    await expect(
      db.transaction(async (sql) => {
        sql.later('UPDATE packet_probe SET v = ? WHERE id = ?', [77, 1]);
        await sql.rows('SELECT v FROM packet_probe WHERE id = ?', [1]);
        sql.later('INSERT INTO packet_probe (id, v) VALUES (?, ?)', [2, 0]);
        return Promise.resolve();
      }),
    ).rejects.toThrow();
    expect(await values()).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });

  it('refuses a statement issued after its unit ended, rather than leaving it waiting', async () => {
    let kept: Sql | undefined;
    await db.transaction((sql) => {
      kept = sql;
      return Promise.resolve();
    });
    await expect(
      (kept as Sql).rows('SELECT v FROM packet_probe WHERE id = ?', [1]),
    ).rejects.toThrow();
  });

  it('leaves the connection clean for the next unit after a failure', async () => {
    for (let i = 0; i < 5; i++) {
      await db
        .transaction(async (sql) => {
          sql.later('UPDATE packet_probe SET v = v + 1 WHERE id = ?', [1]);
          await Promise.all([
            sql.rows('SELECT v FROM packet_probe WHERE id = ?', [1]),
            Promise.reject(new Error('the unit gives up')),
          ]);
        })
        .catch(() => undefined);
    }
    await db.transaction(async (sql) => {
      sql.later('UPDATE packet_probe SET v = v + 1 WHERE id = ?', [2]);
      return Promise.resolve();
    });
    expect(await values()).toEqual([
      [1, 10],
      [2, 21],
    ]);
  });
});
