import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Sweeper } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { LiveRoomService } from './live-room.service';

/** Stops live rooms whose anchor went silent, ending their relay with `room_offline`. */
@Injectable()
export class RoomHeartbeatWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sweeper: Sweeper;

  constructor(rooms: LiveRoomService, @Inject(APP_CONFIG) config: AppConfig) {
    this.sweeper = new Sweeper(RoomHeartbeatWorker.name, config.timerIntervalMs, (limit) =>
      rooms.stopSilent(limit),
    );
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.sweeper.stop();
  }
}
