import { Module } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyRetentionWorker } from './idempotency-retention.worker';
import { IdempotencyService } from './idempotency.service';
import { IdempotencyStore } from './idempotency.store';

/** Idempotency keys: the interceptor of routes that take one, their table and its retention. */
@Module({
  providers: [
    IdempotencyService,
    IdempotencyStore,
    IdempotencyInterceptor,
    IdempotencyRetentionWorker,
  ],
  exports: [IdempotencyService, IdempotencyInterceptor],
})
export class IdempotencyModule {}
