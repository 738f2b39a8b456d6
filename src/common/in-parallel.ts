/** Runs `work` over `items` with at most `limit` in flight; resolves when all have settled. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Works through due items that other nodes sweep at the same time. Nodes that took the same
 * items in the same order would queue on one row lock after another, each waiting only to find
 * the work done; so each node takes its own random order, first does only the items no other
 * transaction holds (`attempt(item, false)` answers false for a held one, without waiting),
 * and then waits for the held ones, which by then are usually done and cost one read. Nothing
 * is skipped for good: a held item is still attempted in this sweep.
 */
export async function sweepInTurns<T>(
  items: T[],
  limit: number,
  attempt: (item: T, wait: boolean) => Promise<boolean>,
): Promise<void> {
  const held: T[] = [];
  await inParallel(shuffled(items), limit, async (item) => {
    if (!(await attempt(item, false))) held.push(item);
  });
  await inParallel(held, limit, async (item) => {
    await attempt(item, true);
  });
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
