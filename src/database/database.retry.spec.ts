import { QueryFailedError } from 'typeorm';
import { backoffMs, ConcurrentUpdate, MAX_ATTEMPTS, retryReason } from './database.retry';

const failed = (driverError: object) => new QueryFailedError('SELECT 1', [], driverError as Error);

describe('backoffMs', () => {
  it.each([
    [1, 0, 2],
    [1, 0.999, 4],
    [2, 0, 4],
    [2, 0.5, 6],
    [3, 0.999, 16],
    [6, 0, 64],
    [7, 0, 125],
    [7, 0.999, 250],
    [8, 0, 125],
    [9, 0.999, 250],
    [40, 0.5, 188],
  ])('attempt %i with random %d waits %i ms', (attempt, random, ms) => {
    expect(backoffMs(attempt, random)).toBe(ms);
  });

  it('keeps every wait of a unit together under 1.3 s', () => {
    let total = 0;
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) total += backoffMs(attempt, 0.999999);
    expect(total).toBeLessThan(1300);
  });
});

describe('retryReason', () => {
  it.each<[string, unknown, boolean, string | null]>([
    ['a lost conditional update', new ConcurrentUpdate(), false, 'race'],
    ['a deadlock (Galera: certification conflict)', failed({ errno: 1213 }), false, 'deadlock'],
    ['a deadlock reported at COMMIT', failed({ errno: 1213 }), true, 'deadlock'],
    ['a lock wait timeout', failed({ errno: 1205 }), false, 'lock_wait'],
    ['a COMMIT refused by certification', failed({ errno: 1180 }), true, 'commit'],
    ['a node out of the primary component', failed({ errno: 1047 }), false, 'node'],
    ['SQLite busy', failed({ code: 'SQLITE_BUSY' }), false, 'busy'],
    ['a connection reset before COMMIT', failed({ code: 'ECONNRESET' }), false, 'connection'],
    [
      'a connection refused (pool)',
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      false,
      'connection',
    ],
    ['a connection lost during COMMIT', failed({ code: 'PROTOCOL_CONNECTION_LOST' }), true, null],
    [
      'a statement on a connection already closed',
      failed({ fatal: true, message: "Can't add new command when connection is in closed state" }),
      false,
      'connection',
    ],
    ['a closed connection found at COMMIT', failed({ fatal: true }), true, null],
    ['a fatal server error with an errno', failed({ fatal: true, errno: 1064 }), false, null],
    ['a duplicate key', failed({ errno: 1062 }), false, null],
    ['a syntax error', failed({ errno: 1064 }), false, null],
    ['any other error', new Error('boom'), false, null],
    ['not an error', 'text', false, null],
  ])('%s', (_label, error, committing, reason) => {
    expect(retryReason(error, committing)).toBe(reason);
  });
});
