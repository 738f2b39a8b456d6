import { Type } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { Clock } from '../../src/common/clock';
import { AppConfig, loadConfig } from '../../src/config/app.config';
import { FakeClock } from './fake-clock';

export interface MediumApp {
  module: TestingModule;
  config: AppConfig;
  /** The clock every service reads; nothing moves it but the spec. */
  clock: FakeClock;
  dataSource: DataSource;
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

export interface MediumOptions {
  /**
   * Run the background sweepers (application bootstrap), for specs whose subject is what they
   * do on their own: webhook dispatch. Otherwise no sweeper runs and a spec calls the sweeps
   * itself, at times it chose.
   */
  sweepers?: boolean;
}

/**
 * The application's modules without HTTP, on a fresh SQLite database in memory, with a fake
 * clock in place of Clock. better-sqlite3 keeps one connection per data source, so `:memory:`
 * is one database for the whole module.
 */
export async function startMediumApp(
  env: Record<string, string> = {},
  options: MediumOptions = {},
): Promise<MediumApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    ...env,
    DATABASE_URL: 'sqlite::memory:',
  });
  const clock = new FakeClock();
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .overrideProvider(Clock)
    .useValue(clock)
    .setLogger(new SilentLogger())
    .compile();
  if (options.sweepers === true) await module.init();
  return {
    module,
    config,
    clock,
    dataSource: module.get(DataSource),
    get: (type) => module.get(type),
    close: () => module.close(),
  };
}

/** Nest's own lines (module wiring, a sweep that failed) would only clutter the test output. */
class SilentLogger {
  log(): void {}
  error(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
}
