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
  @ApiOperation({ summary: 'Create a room; the caller is its anchor (live_status 0)' })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 413, ...DATABASE_ERRORS])
  create(@CurrentUser() user: ClientUser, @Body() dto: CreateRoomDto): Promise<RoomView> {
    return this.rooms.create(user, dto);
  }

  @Get('info/:live_id')
  @ApiOperation({ summary: 'Read a room of your app' })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  info(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<RoomView> {
    return this.rooms.info(user, liveId);
  }

  @Get('heartbeat/:live_id')
  @ApiOperation({ summary: 'Keep your live room alive' })
  @ApiEnvelope(HeartbeatView, [...CLIENT_ERRORS, 403, 404, 601, ...DATABASE_ERRORS])
  heartbeat(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<HeartbeatView> {
    return this.rooms.heartbeat(user, liveId);
  }

  @Put(':live_id')
  @ApiOperation({ summary: 'Start the live (live_status 1)' })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 403, 404, 413, ...DATABASE_ERRORS])
  start(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<RoomView> {
    return this.rooms.start(user, liveId);
  }

  @Delete(':live_id')
  @ApiOperation({ summary: 'Stop the live (live_status 2); its relay ends with room_stopped' })
  @ApiEnvelope(RoomView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  stop(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('live_id') liveId: string,
  ): Promise<RoomView> {
    return this.rooms.stop(user, liveId);
  }
}
