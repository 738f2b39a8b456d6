import { Injectable } from '@nestjs/common';

/** The one place that reads the wall clock, so tests can move time instead of sleeping. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
