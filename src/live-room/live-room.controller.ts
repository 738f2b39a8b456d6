import { Body, Controller, Delete, Get, HttpCode, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { CreateRoomDto, HeartbeatView, RoomView } from './live-room.dto';
import { LiveRoomService } from './live-room.service';

@ApiTags('rooms')
@ClientAuth()
@Controller('client/live/room')
export class LiveRoomController {
  constructor(private readonly rooms: LiveRoomService) {}

  @Post('instance')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a room; the caller is its anchor (live_status 0)',
    description:
      'Any client token. `title` 1-255 characters; `notice`, `cover_url` (up to 1024) and ' +
      '`extends` (a map of strings) are optional. Text with NUL, other control characters ' +
      '(but tab, line feed, carriage return) or lone surrogates is 400, as is an unknown field.',
  })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 413, ...DATABASE_ERRORS])
  create(@CurrentUser() user: ClientUser, @Body() dto: CreateRoomDto): Promise<RoomView> {
    return this.rooms.create(user, dto);
  }

  @Get('info/:live_id')
  @ApiOperation({
    summary: 'Read a room of your app',
    description:
      'Any user of the app reads any room of the app; `pk_id` is the relay it is in, or "". ' +
      '404 when there is none in your app; 400 for a malformed `live_id`.',
  })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  info(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<RoomView> {
    return this.rooms.info(user, liveId);
  }

  @Get('heartbeat/:live_id')
  @ApiOperation({
    summary: 'Keep your live room alive',
    description:
      "The room's anchor, every 20 s or so while live: a live room without a heartbeat for " +
      'ROOM_HEARTBEAT_TIMEOUT_S seconds is stopped and its relay ends with `room_offline`. ' +
      '403 for anyone else; 601 when the room is not live.',
  })
  @ApiEnvelope(HeartbeatView, [...CLIENT_ERRORS, 403, 404, 601, ...DATABASE_ERRORS])
  heartbeat(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<HeartbeatView> {
    return this.rooms.heartbeat(user, liveId);
  }

  @Put(':live_id')
  @ApiOperation({
    summary: 'Start the live (live_status 1)',
    description:
      "The room's anchor starts the live: `live_status` 1, `start_time` set. 403 for anyone " +
      'else; 404 when there is no such room in your app.',
  })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 403, 404, 413, ...DATABASE_ERRORS])
  start(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<RoomView> {
    return this.rooms.start(user, liveId);
  }

  @Delete(':live_id')
  @ApiOperation({
    summary: 'Stop the live (live_status 2); its relay ends with room_stopped',
    description:
      "The room's anchor ends the live: `live_status` 2, `end_time` set; a relay the room is " +
      'in ends with `room_stopped`. 403 for anyone else; 601 when the room is not live.',
  })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  stop(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<RoomView> {
    return this.rooms.stop(user, liveId);
  }
}
