/**
 * The Node.js the README states is one every installed package accepts: `npm ci` on it prints
 * no EBADENGINE warning (README, "Toolchain, and why").
 */
import { createRequire } from 'node:module';
import { readRepoFile } from '../utils/markdown';

const { satisfies } = createRequire(__filename)('semver') as {
  satisfies(this: void, version: string, range: string): boolean;
};

interface Lock {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>;
}

describe('the toolchain', () => {
  it('states Node.js 20 or later, and every package of the lock file accepts Node.js 20', () => {
    const manifest = JSON.parse(readRepoFile('package.json')) as { engines: { node: string } };
    expect(manifest.engines.node).toBe('>=20');
    const lock = JSON.parse(readRepoFile('package-lock.json')) as Lock;
    const refusing = Object.entries(lock.packages).flatMap(([path, p]) => {
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      return range === undefined || satisfies('20.19.0', range) ? [] : [`${path}: ${range}`];
    });
    expect(refusing).toEqual([]);
  });
});
