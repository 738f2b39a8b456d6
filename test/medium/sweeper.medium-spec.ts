/**
 * The Sweeper every timer worker and the webhook dispatcher run on (src/common/sweeper.ts),
 * on Jest's fake timers: when the next sweep comes after a short batch, a full batch (a
 * backlog), a wake-up, a wake-up during a sweep and a failed sweep; and that stop() waits for
 * the sweep in progress and ends the sweeping. "At once" is the next turn of the timer queue,
 * which fake timers count as 1 ms.
 */
import { Logger } from '@nestjs/common';
import { Sweeper } from '../../src/common/sweeper';

const INTERVAL = 1000;

describe(Sweeper.name, () => {
  let sweeps: number[];
  let sweeper: Sweeper | undefined;

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    sweeps = [];
  });
  afterEach(async () => {
    const stopping = sweeper?.stop();
    await jest.advanceTimersByTimeAsync(10 * INTERVAL);
    await stopping;
    sweeper = undefined;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** A sweeper whose sweeps record their time and answer the next of `found` (then 0). */
  function start(found: (number | Error)[], takesMs = 0): Sweeper {
    sweeper = new Sweeper('test', INTERVAL, async () => {
      sweeps.push(Date.now());
      if (takesMs > 0) await new Promise((resolve) => setTimeout(resolve, takesMs));
      const next = found.shift() ?? 0;
      if (next instanceof Error) throw next;
      return next;
    });
    sweeper.start();
    return sweeper;
  }

  it.each([
    ['short batches: one sweep an interval', [1, 0, 5], [0, 1000, 2000, 3000]],
    ['a full batch: the next one at once', [Sweeper.BATCH, Sweeper.BATCH, 3], [0, 1, 2, 1002]],
    ['a failed sweep: the next one an interval later', [new Error('db down')], [0, 1000, 2000]],
  ] as [string, (number | Error)[], number[]][])('%s', async (_, found, times) => {
    start(found);
    await jest.advanceTimersByTimeAsync(times[times.length - 1]);
    expect(sweeps).toEqual(times);
  });

  it('sweeps at once when woken while idle', async () => {
    const s = start([]);
    await jest.advanceTimersByTimeAsync(300);
    s.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(sweeps).toEqual([0, 300]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sweeps).toEqual([0, 300, 1300]);
  });

  it('sweeps once more right after the sweep in progress when woken during it', async () => {
    const s = start([], 100);
    await jest.advanceTimersByTimeAsync(50);
    s.wake();
    s.wake();
    await jest.advanceTimersByTimeAsync(100);
    expect(sweeps).toEqual([0, 101]);
    await jest.advanceTimersByTimeAsync(1100);
    expect(sweeps).toEqual([0, 101, 1201]);
  });

  it('waits in stop() for the sweep in progress, and sweeps no more', async () => {
    const s = start([], 100);
    await jest.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(50);
    expect(stopped).toBe(false);
    await jest.advanceTimersByTimeAsync(50);
    await stopping;
    s.wake();
    await jest.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(sweeps).toEqual([0]);
  });
});
