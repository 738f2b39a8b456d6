import { parseDatabaseUrl } from './database.hosts';

describe('parseDatabaseUrl', () => {
  it.each([
    [
      'mysql://root@127.0.0.1:3306/test',
      { user: 'root', password: '', hosts: [{ host: '127.0.0.1', port: 3306 }], database: 'test' },
    ],
    [
      'mysql://root@h1:3311,h2:3312,h3:3313/db',
      {
        user: 'root',
        password: '',
        hosts: [
          { host: 'h1', port: 3311 },
          { host: 'h2', port: 3312 },
          { host: 'h3', port: 3313 },
        ],
        database: 'db',
      },
    ],
    [
      'mariadb://relay:p%40ss%3Aw@db-a,db-b:3307/relay?charset=utf8mb4',
      {
        user: 'relay',
        password: 'p@ss:w',
        hosts: [
          { host: 'db-a', port: 3306 },
          { host: 'db-b', port: 3307 },
        ],
        database: 'relay',
      },
    ],
    [
      'mysql://u:x@[::1]:3311,[fd00::2]/d',
      {
        user: 'u',
        password: 'x',
        hosts: [
          { host: '::1', port: 3311 },
          { host: 'fd00::2', port: 3306 },
        ],
        database: 'd',
      },
    ],
    [
      'mysql://localhost',
      { user: '', password: '', hosts: [{ host: 'localhost', port: 3306 }], database: '' },
    ],
  ])('%s', (url, target) => {
    expect(parseDatabaseUrl(url)).toEqual(target);
  });

  it.each([
    ['sqlite:data/relay.db', /expected mysql:\/\//],
    ['mysql://root@h1:3311,,h2/db', /cannot read the host ""/],
    ['mysql://root@h1:99999/db', /port out of range in "h1:99999"/],
    ['mysql://root@h1:33a/db', /cannot read the host "h1:33a"/],
  ])('refuses %s', (url, problem) => {
    expect(parseDatabaseUrl(url)).toMatch(problem);
  });
});
