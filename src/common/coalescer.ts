/** What one item of a batch came to: its own answer, or its own error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Group commit for one kind of work, per key (a relay, a pool): an item submitted while no batch
 * of its key is running starts one at once, so a quiet key pays no delay; items submitted while
 * one runs wait and all go together into the next. Under load a batch carries everything that
 * arrived during the one before, so the work per commit grows with the load instead of the
 * commits queuing behind one another. Each item is answered with its own outcome, only once its
 * batch is done; a batch that fails as a whole fails each of its items.
 */
export class Coalescer<K, I, O> {
  private readonly waiting = new Map<K, Waiting<I, O>[]>();
  private readonly running = new Set<K>();

  constructor(
    private readonly run: (key: K, items: I[]) => Promise<Outcome<O>[]>,
    private readonly maxBatch = 256,
  ) {}

  submit(key: K, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let queue = this.waiting.get(key);
      if (queue === undefined) this.waiting.set(key, (queue = []));
      queue.push({ item, resolve, reject });
      if (!this.running.has(key)) this.next(key);
    });
  }

  private next(key: K): void {
    const queue = this.waiting.get(key);
    if (queue === undefined || queue.length === 0) {
      this.waiting.delete(key);
      this.running.delete(key);
      return;
    }
    this.running.add(key);
    const batch = queue.splice(0, this.maxBatch);
    this.run(
      key,
      batch.map((w) => w.item),
    )
      .then(
        (outcomes) =>
          batch.forEach((w, i) => {
            const outcome = outcomes[i];
            if (outcome.ok) w.resolve(outcome.value);
            else w.reject(outcome.error);
          }),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => this.next(key));
  }
}
