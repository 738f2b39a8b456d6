import { connectProblem } from './database.preflight';

describe(connectProblem.name, () => {
  it.each([
    [
      'ER_BAD_DB_ERROR',
      'mysql://root@127.0.0.1:3306/relay',
      'database "relay" does not exist on 127.0.0.1:3306: create it (CREATE DATABASE relay CHARACTER SET utf8mb4) or fix DATABASE_URL',
    ],
    [
      'ER_BAD_DB_ERROR',
      'mariadb://u:p@db.internal/live',
      'database "live" does not exist on db.internal:3306: create it (CREATE DATABASE live CHARACTER SET utf8mb4) or fix DATABASE_URL',
    ],
    [
      'ER_ACCESS_DENIED_ERROR',
      'mysql://u:secret@db:3307/relay',
      'db:3307 refused the user or password of DATABASE_URL for database "relay"',
    ],
    [
      'ECONNREFUSED',
      'mysql://root@127.0.0.1:3999/relay',
      'no MySQL/MariaDB server answers at 127.0.0.1:3999: start it or fix DATABASE_URL',
    ],
    ['ER_LOCK_DEADLOCK', 'mysql://root@127.0.0.1/relay', null],
    [undefined, 'mysql://root@127.0.0.1/relay', null],
  ])('%s on %s: %s', (code, url, line) => {
    expect(connectProblem(code, url)).toBe(line);
  });

  it('never repeats the password', () => {
    for (const code of ['ER_BAD_DB_ERROR', 'ER_ACCESS_DENIED_ERROR', 'ECONNREFUSED'])
      expect(connectProblem(code, 'mysql://u:hunter2-secret@db/relay')).not.toContain('hunter2');
  });
});
