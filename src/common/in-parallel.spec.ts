import { inParallel, sweepInTurns } from './in-parallel';

describe(inParallel.name, () => {
  it('handles every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await inParallel([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(n);
      inFlight -= 1;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('does nothing for no items', async () => {
    await expect(
      inParallel([], 4, () => Promise.reject(new Error('never'))),
    ).resolves.toBeUndefined();
  });
});

describe(sweepInTurns.name, () => {
  it.each([
    { held: [], firstPass: 6, waited: [] },
    { held: [2, 5], firstPass: 6, waited: [2, 5] },
    { held: [1, 2, 3, 4, 5, 6], firstPass: 6, waited: [1, 2, 3, 4, 5, 6] },
  ])(
    'tries every item without waiting, then waits only for the held ones ($held held)',
    async ({ held, firstPass, waited }) => {
      const calls: { item: number; wait: boolean }[] = [];
      await sweepInTurns([1, 2, 3, 4, 5, 6], 3, (item, wait) => {
        calls.push({ item, wait });
        return Promise.resolve(wait || !held.includes(item));
      });
      expect(calls.filter((c) => !c.wait)).toHaveLength(firstPass);
      expect(calls.slice(0, firstPass).every((c) => !c.wait)).toBe(true);
      expect(
        calls
          .filter((c) => c.wait)
          .map((c) => c.item)
          .sort(),
      ).toEqual(waited);
    },
  );

  it('takes the items in a different order from sweep to sweep', async () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const orders = new Set<string>();
    for (let run = 0; run < 5; run++) {
      const seen: number[] = [];
      await sweepInTurns(items, 1, (item) => {
        seen.push(item);
        return Promise.resolve(true);
      });
      expect([...seen].sort((a, b) => a - b)).toEqual(items);
      orders.add(seen.join(','));
    }
    expect(orders.size).toBeGreaterThan(1);
  });
});
