import { readRepoFile, section } from '../../test/utils/markdown';
import { loadConfig } from './app.config';

/** The variable names in the first column of the README's configuration table. */
function documentedVariables(): string[] {
  const rows = section(readRepoFile('README.md'), 'Configuration')
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  return rows.map((row) => {
    const names = [...row.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)];
    if (names.length !== 1) throw new Error(`one variable per row, got: ${row}`);
    return names[0][1];
  });
}

/** Every variable loadConfig looks at, whatever the values, recorded as it reads them. */
function variablesTheCodeReads(): string[] {
  const read = new Set<string>();
  const env = new Proxy(
    {},
    {
      get: (_, name) => {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  loadConfig(env);
  return [...read];
}

describe('README configuration table', () => {
  it('lists every variable the configuration reads, and no other', () => {
    expect(documentedVariables().sort()).toEqual(variablesTheCodeReads().sort());
  });

  it('lists each variable once', () => {
    const names = documentedVariables();
    expect(names.length).toBe(new Set(names).size);
  });
});
