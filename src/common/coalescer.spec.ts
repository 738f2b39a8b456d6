import { Coalescer, Outcome } from './coalescer';

/** A batch runner that records its batches and waits to be released. */
function recorder() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const run = (key: string, items: number[]): Promise<Outcome<string>[]> => {
    batches.push(items);
    return new Promise((resolve) =>
      releases.push(() =>
        resolve(
          items.map((n) =>
            n < 0
              ? { ok: false, error: new Error(`refused ${n}`) }
              : { ok: true, value: `${key}:${n}` },
          ),
        ),
      ),
    );
  };
  return { batches, releases, run };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('starts a quiet key at once and puts what arrives meanwhile into the next batch', async () => {
    const r = recorder();
    const c = new Coalescer(r.run);
    const first = c.submit('relay', 1);
    const later = [c.submit('relay', 2), c.submit('relay', 3)];
    expect(r.batches).toEqual([[1]]);
    r.releases[0]();
    expect(await first).toBe('relay:1');
    await settled();
    expect(r.batches).toEqual([[1], [2, 3]]);
    r.releases[1]();
    expect(await Promise.all(later)).toEqual(['relay:2', 'relay:3']);
  });

  it('answers each item with its own outcome, and fails every item of a failed batch', async () => {
    const r = recorder();
    const c = new Coalescer(r.run);
    const ok = c.submit('k', 1);
    const refused = c.submit('k', -1);
    const alsoOk = c.submit('k', 2);
    r.releases[0]();
    await ok;
    await settled();
    r.releases[1]();
    await expect(refused).rejects.toThrow('refused -1');
    await expect(alsoOk).resolves.toBe('k:2');

    const failing = new Coalescer<string, number, string>(() => Promise.reject(new Error('down')));
    await expect(Promise.all([failing.submit('k', 1), failing.submit('k', 2)])).rejects.toThrow(
      'down',
    );
  });

  it('keeps keys apart and caps a batch', async () => {
    const r = recorder();
    const c = new Coalescer(r.run, 2);
    void c.submit('a', 1);
    void c.submit('b', 1);
    void c.submit('a', 2);
    void c.submit('a', 3);
    void c.submit('a', 4);
    expect(r.batches).toEqual([[1], [1]]);
    r.releases[0]();
    await settled();
    await settled();
    expect(r.batches).toEqual([[1], [1], [2, 3]]);
  });
});
