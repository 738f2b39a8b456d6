import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

/**
 * Runs one kind of due work on this node: `sweep(limit)` handles at most `limit` items and
 * answers how many it found. A full batch means a backlog, so the next batch follows at once
 * (through the timer queue, so pending requests are served in between); otherwise it waits one
 * interval. Never two sweeps at once; `stop()` waits for the one in progress.
 */
export class Sweeper {
  static readonly BATCH = 200;
  /** Items of one batch handled side by side: a few pooled connections, the rest for requests. */
  static readonly CONCURRENCY = 8;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private woken = false;
  private stopped = false;
  private restUntil = 0;
  private readonly logger: Logger;

  /**
   * `rest`, when given, answers how long to wait after a sweep before a wake may start the
   * next one (a backlog or the interval still decide otherwise).
   */
  constructor(
    name: string,
    private readonly intervalMs: number,
    private readonly sweep: (limit: number) => Promise<number>,
    private readonly rest: () => number = () => 0,
  ) {
    this.logger = new Logger(name);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** New work was just made on this node: sweep now rather than at the next interval. */
  wake(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.woken = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(Math.max(0, this.restUntil - Date.now()));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.once();
    }, delayMs);
  }

  private async once(): Promise<void> {
    this.busy = true;
    this.woken = false;
    let found = 0;
    try {
      found = await this.sweep(Sweeper.BATCH);
    } catch (error) {
      this.logger.error(`sweep failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.busy = false;
    const rest = this.rest();
    this.restUntil = Date.now() + rest;
    if (found >= Sweeper.BATCH) this.schedule(0);
    else this.schedule(this.woken ? rest : this.intervalMs);
  }
}

/** A provider that sweeps from application start until shutdown. */
export abstract class SweepingWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sweeper: Sweeper;

  protected constructor(name: string, intervalMs: number) {
    this.sweeper = new Sweeper(name, intervalMs, (limit) => this.sweep(limit));
  }

  protected abstract sweep(limit: number): Promise<number>;

  /** New work was just made on this node: sweep now rather than at the next interval. */
  wake(): void {
    this.sweeper.wake();
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.sweeper.stop();
  }
}

/** A sweeping worker whose whole work is one call of a service: the due work of one kind. */
export class DueWorker extends SweepingWorker {
  protected constructor(
    name: string,
    intervalMs: number,
    private readonly due: (limit: number) => Promise<number>,
  ) {
    super(name, intervalMs);
  }

  protected sweep(limit: number): Promise<number> {
    return this.due(limit);
  }
}
