import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

export interface Spawned {
  child: ChildProcess;
  /** The process has ended and every holder of its stdout and stderr has closed them. */
  exited: Promise<Exit>;
  /**
   * The process itself has ended; a process it started may still hold its output open (and
   * keep `exited` waiting).
   */
  ended: Promise<Pick<Exit, 'code' | 'signal'>>;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** The first match of `pattern` in the output; fails if the process exits before it shows. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export interface SpawnOptions {
  /** Added to a clean environment (PATH and HOME only), so the caller's settings never leak in. */
  env?: Record<string, string>;
  /** Its own process group, which `killGroup` can end with everything the process started. */
  detached?: boolean;
}

export function spawnProcess(command: string, args: string[], options: SpawnOptions = {}): Spawned {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...env, ...options.env },
    detached: options.detached ?? false,
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  const watchers = new Set<() => void>();
  const received = (into: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString();
    if (into === 'stdout') stdout += text;
    else stderr += text;
    output += text;
    for (const watcher of watchers) watcher();
  };
  child.stdout?.on('data', received('stdout'));
  child.stderr?.on('data', received('stderr'));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, output })),
  );
  const ended = new Promise<Pick<Exit, 'code' | 'signal'>>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );

  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const done = () => {
        watchers.delete(look);
        clearTimeout(timer);
      };
      const look = () => {
        const match = pattern.exec(output);
        if (match === null) return;
        done();
        resolve(match);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      watchers.add(look);
      look();
      void exited.then(({ code, signal }) => {
        if (!watchers.has(look)) return;
        done();
        reject(new Error(`exited (${code ?? signal}) before ${pattern}:\n${output}`));
      });
    });

  return { child, exited, ended, output: () => output, waitFor };
}

/** A TypeScript entry point of this repository, run as the npm scripts run it. */
export function runTypeScript(entry: string, args: string[], options: SpawnOptions = {}): Spawned {
  return spawnProcess(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', entry, ...args],
    options,
  );
}

/** `npm run -s <script> -- <args>`: the script exactly as a newcomer types it. */
export function runNpmScript(script: string, args: string[], options: SpawnOptions = {}): Spawned {
  return spawnProcess('npm', ['run', '-s', script, '--', ...args], options);
}

/** Ends a detached process's whole group; a no-op once every process of it has gone. */
export function killGroup(spawned: Spawned): void {
  try {
    process.kill(-(spawned.child.pid as number), 'SIGKILL');
  } catch {
    // ESRCH: the group is already empty.
  }
}

/** Whether any process of a detached process's group is still running. */
export function groupAlive(spawned: Spawned): boolean {
  try {
    process.kill(-(spawned.child.pid as number), 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether a server could listen on `port` of every IPv4 address, as the service does. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

/** A port of 127.0.0.1 that nothing listens on now: bound for a moment, then let go. */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
