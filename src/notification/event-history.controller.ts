import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { RelayEventListView, RelayEventsQuery } from './event-history.dto';
import { EventHistoryService } from './event-history.service';

@ApiTags('relay')
@ClientAuth()
@Controller('client/relay')
export class EventHistoryController {
  constructor(private readonly history: EventHistoryService) {}

  @Get(':relay_id/events')
  @ApiOperation({
    summary: "A relay's events in seq order, a page at a time",
    description:
      'The domain events of one relay of your app (as in the event stream and webhooks), ' +
      'oldest first: `limit` at a time (1-100, default 20), after the event id `after`. Pass ' +
      '`next_cursor` as `after` for the next page; it is null on the last. Any user of the ' +
      'app, as GET of the relay; 404 when the relay is not in your app; 400 for a malformed ' +
      '`relay_id`, `after` or `limit`. Events are kept EVENT_RETENTION_HOURS.',
  })
  @ApiEnvelope(RelayEventListView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  events(
    @CurrentUser() user: ClientUser,
    @IdentifierParam('relay_id') relayId: string,
    @Query() query: RelayEventsQuery,
  ): Promise<RelayEventListView> {
    return this.history.ofRelay(user, relayId, query);
  }
}
