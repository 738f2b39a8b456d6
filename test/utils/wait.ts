/**
 * How long a wait for something that must happen may take before it fails: far beyond what a
 * quiet machine needs, so that only a stuck spec fails, not a machine busy with other work.
 */
export const WAIT_MS = 30_000;

/**
 * Waits for a condition instead of a fixed time: `probe` runs every `everyMs` until it answers
 * something other than undefined or false, which is then answered. A loaded machine only makes
 * the wait longer; past `timeoutMs` it fails saying what it waited for and what it saw last.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = WAIT_MS, everyMs = 50 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}, in vain`);
    await pause(everyMs);
  }
}

/**
 * Lets real time pass, for the few checks that something does NOT happen (a timer that must not
 * fire, a retry that must not come): nothing can be waited for there, so the spec gives the
 * wrong thing a fair chance to show.
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
