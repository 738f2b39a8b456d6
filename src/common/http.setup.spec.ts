import { IncomingMessage } from 'node:http';
import { requestIdFrom } from './http.setup';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe(requestIdFrom.name, () => {
  it.each<[string, Record<string, string>, string | RegExp]>([
    ['x-request-id', { 'x-request-id': 'abc-123' }, 'abc-123'],
    [
      'kong-request-id',
      { 'kong-request-id': 'f0b6c8b0-8a9e-4c0e-9d1b-6a1e2e3f4a5b#12' },
      'f0b6c8b0-8a9e-4c0e-9d1b-6a1e2e3f4a5b#12',
    ],
    [
      'x-amzn-trace-id',
      {
        'x-amzn-trace-id':
          'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1',
      },
      'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1',
    ],
    ['kong-request-id', { 'x-request-id': 'other-header' }, UUID],
    ['x-request-id', { 'x-request-id': 'a'.repeat(128) }, 'a'.repeat(128)],
    ['x-request-id', { 'x-request-id': 'a'.repeat(129) }, UUID],
    ['x-request-id', { 'x-request-id': 'has space' }, UUID],
    ['x-request-id', { 'x-request-id': 'abc#1' }, UUID],
    ['kong-request-id', { 'kong-request-id': 'x'.repeat(200) }, 'x'.repeat(200)],
    ['kong-request-id', { 'kong-request-id': 'x'.repeat(201) }, UUID],
    ['kong-request-id', { 'kong-request-id': 'has space' }, UUID],
    ['kong-request-id', { 'kong-request-id': 'quote"d' }, UUID],
    ['kong-request-id', { 'kong-request-id': 'back\\slash' }, UUID],
    ['x-request-id', { 'x-request-id': '' }, UUID],
  ])('%s of %j -> %s', (header, headers, expected) => {
    const id = requestIdFrom(header)({ headers } as unknown as IncomingMessage);
    if (typeof expected === 'string') expect(id).toBe(expected);
    else expect(id).toMatch(expected);
  });
});
