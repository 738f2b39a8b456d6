import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ClientStreamAuth } from '../auth/client-auth.decorator';
import { EventStreamService } from './event-stream.service';
import { StreamQuery } from './event-stream.dto';

@ApiTags('relay')
@Controller('client/relay')
export class EventStreamController {
  constructor(private readonly streams: EventStreamService) {}

  @Get('events')
  @ClientStreamAuth()
  @ApiOperation({
    summary: 'Server-sent events of your sessions, or of a room with ?room_id=',
    description:
      'Each message has `id:` (the event id), `event:` (the type) and `data:` (the event JSON). ' +
      'Reconnect with Last-Event-ID (header or last_event_id) to receive what you missed first. ' +
      'A comment line comes every 15 s.',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'text/event-stream' })
  @ApiResponse({ status: 401, description: 'code 401: missing or bad token; code 499: expired' })
  stream(
    @CurrentUser() user: ClientUser,
    @Query() query: StreamQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.streams.open(user, query, request, reply);
  }
}
