/**
 * /docs-json passes `spectral lint` with the repository's ruleset (.spectral.yaml, spectral:oas)
 * with no error and no warning, run from node_modules as CI runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../utils/spawned-process';
import { startTestApp, TestApp } from '../utils/test-app';

interface Finding {
  code: string;
  message: string;
  severity: number;
  path: (string | number)[];
}

interface LintRun {
  exitCode: number;
  findings: Finding[];
  output: string;
}

/** Runs the Spectral CLI on a document, failing on warnings as CI does. */
function lint(dir: string, name: string, document: unknown): Promise<LintRun> {
  const file = join(dir, `${name}.json`);
  const results = join(dir, `${name}-results.json`);
  writeFileSync(file, JSON.stringify(document));
  const args = ['lint', file, '--ruleset', join(ROOT, '.spectral.yaml'), '--fail-severity=warn'];
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'spectral'),
      [...args, '--format', 'json', '--output', results],
      { cwd: ROOT, timeout: 60_000 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({
          exitCode,
          findings: JSON.parse(readFileSync(results, 'utf8')) as Finding[],
          output: stdout + stderr,
        });
      },
    );
  });
}

describe('Spectral lint of /docs-json (spectral:oas)', () => {
  let t: TestApp;
  let document: Record<string, unknown>;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relay-spectral-'));
    t = await startTestApp();
    document = (await t.call('GET', '/docs-json')).body;
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds no error and no warning', async () => {
    const run = await lint(dir, 'docs', document);
    const described = run.findings.map((f) => `${f.code} at ${f.path.join('.')}: ${f.message}`);
    expect(described).toEqual([]);
    expect(run.exitCode).toBe(0);
  }, 60_000);

  it('fails on a warning, so a drifting document cannot pass', async () => {
    const withoutServers = { ...document };
    delete withoutServers.servers;
    const run = await lint(dir, 'no-servers', withoutServers);
    expect(run.findings.map((f) => f.code)).toContain('oas3-api-servers');
    expect(run.exitCode).not.toBe(0);
  }, 60_000);
});
