import { INestApplicationContext } from '@nestjs/common';
import { Clock } from '../../src/common/clock';

/**
 * A clock that moves only when a test moves it. Medium specs provide it in place of Clock; an
 * e2e app, built whole by createApp, is handed one with `attachTo`.
 */
export class FakeClock extends Clock {
  constructor(private at = Date.now()) {
    super();
  }

  override now(): number {
    return this.at;
  }

  set(ms: number): void {
    this.at = ms;
  }

  advance(ms: number): number {
    this.at += ms;
    return this.at;
  }

  /**
   * A fresh start for a test, later than anything an earlier test did on the same clock, so
   * rows left by earlier tests are long due when a test sweeps.
   */
  begin(): number {
    return this.advance(100_000);
  }

  /** Makes `app` read this clock from now on; answers the clock. */
  attachTo(app: INestApplicationContext): this {
    app.get(Clock).now = () => this.at;
    return this;
  }
}
