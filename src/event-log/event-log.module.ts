import { Global, Module } from '@nestjs/common';
import { EventLog } from './event-log.service';
import { EventRetentionWorker } from './event-retention.worker';

@Global()
@Module({ providers: [EventLog, EventRetentionWorker], exports: [EventLog] })
export class EventLogModule {}
