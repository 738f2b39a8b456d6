import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Figures a spec measured, kept as JSON in test-output/ for the closing notes and CI logs. */
export function writeFigures(name: string, figures: unknown): void {
  const dir = join(__dirname, '..', '..', 'test-output');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), JSON.stringify(figures, null, 2));
}
