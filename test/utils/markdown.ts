import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

/** The text of a markdown file without its fenced code blocks (examples are not links). */
export function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** The body of the section under `## title`, up to the next heading of the same level. */
export function section(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line === `## ${title}`);
  if (start < 0) throw new Error(`no "## ${title}" section`);
  const end = lines.findIndex((line, i) => i > start && /^## /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The fenced code blocks of a markdown text with the given info string, in order. */
export function codeBlocks(markdown: string, language: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm');
  for (const match of markdown.matchAll(fence)) blocks.push(match[1]);
  return blocks;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** A bash block without its comments: what runs. */
export const commands = (block: string) =>
  block
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, ''))
    .join('\n');

export interface BashRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` in bash as a reader pasting a block would: in `cwd` (the repository's root
 * unless a test says another folder, as a newcomer's terminal may be anywhere), with the
 * environment they have. RELAY_URL, RELAY_DIR and PORT are never inherited: each run says where
 * the service and the project are, as the guides tell.
 */
export function runBash(
  script: string,
  { cwd = REPO_ROOT, env = {} }: { cwd?: string; env?: Record<string, string> } = {},
): Promise<BashRun> {
  const base = { ...process.env };
  delete base.RELAY_URL;
  delete base.RELAY_DIR;
  delete base.PORT;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
