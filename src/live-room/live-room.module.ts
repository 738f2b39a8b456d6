import { Module } from '@nestjs/common';
import { LiveRoomController } from './live-room.controller';
import { LiveRoomService } from './live-room.service';
import { LiveRoomStore } from './live-room.store';

@Module({
  controllers: [LiveRoomController],
  providers: [LiveRoomService, LiveRoomStore],
  exports: [LiveRoomService, LiveRoomStore],
})
export class LiveRoomModule {}
