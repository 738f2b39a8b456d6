import { Inject, Injectable } from '@nestjs/common';
import { DueWorker } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { LiveRoomService } from './live-room.service';

/** Stops live rooms whose anchor went silent, ending their relay with `room_offline`. */
@Injectable()
export class RoomHeartbeatWorker extends DueWorker {
  constructor(rooms: LiveRoomService, @Inject(APP_CONFIG) config: AppConfig) {
    super(RoomHeartbeatWorker.name, config.timerIntervalMs, (limit) => rooms.stopSilent(limit));
  }
}
