import { Module } from '@nestjs/common';
import { LiveRoomController } from './live-room.controller';
import { LiveRoomService } from './live-room.service';
import { LiveRoomStore } from './live-room.store';
import { RoomHeartbeatWorker } from './room-heartbeat.worker';

@Module({
  controllers: [LiveRoomController],
  providers: [LiveRoomService, LiveRoomStore, RoomHeartbeatWorker],
  exports: [LiveRoomService, LiveRoomStore],
})
export class LiveRoomModule {}
