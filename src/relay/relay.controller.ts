import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { IdempotencyKeyHeader } from '../idempotency/idempotency-key.decorator';
import { IdempotencyService, REPLAYED_HEADER } from '../idempotency/idempotency.service';
import { RelayEventListView, RelayEventsQuery } from './relay-events.dto';
import {
  ListRelaysQuery,
  RelayExtendsView,
  RelayListView,
  RelaySessionView,
  RelayStatusView,
  RelayTokenView,
  StartRelayDto,
  UpdateExtendsDto,
} from './relay.dto';
import { RelayService } from './relay.service';

const Id = () => IdentifierParam('relay_id');

@ApiTags('relay')
@ClientAuth()
@Controller('client/relay')
export class RelayController {
  constructor(
    private readonly relays: RelayService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post('start')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Invite another live room to a relay (auto: agreed at once; invite: waits)',
    description:
      'The anchor of `init_room_id` invites the room `recv_room_id`, whose anchor is ' +
      '`recv_user_id`. Mode `auto` (default RELAY_DEFAULT_MODE) agrees at once and answers your ' +
      'token (status 1); `invite` waits for the receiver (status 0, `relay_token` ""). Checks ' +
      'in order, the first failure answers: the body (400); the two rooms equal or ' +
      '`recv_user_id` is you (400); your room exists (404); you are its anchor (403); the other ' +
      'room exists with anchor `recv_user_id` (404); both rooms live (601); neither already in ' +
      'a relay (601).\n\n' +
      'With an `Idempotency-Key` header a retry is safe: a repeat with the same key and body ' +
      'by the same user within 24 hours creates nothing and answers what the first request ' +
      'answered, success or 4xx error (same status and `data`, a fresh `request_id`), with ' +
      '`Idempotent-Replayed: true`. The same key with another body is 400; a repeat while the ' +
      'first is still running is 409 code 601. A malformed key is 400.',
  })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS], {
    [REPLAYED_HEADER]: {
      description: 'true when this is the stored answer of an earlier request with the key',
      required: false,
      schema: { type: 'string', enum: ['true'] },
    },
  })
  start(
    @CurrentUser() user: ClientUser,
    @Body() dto: StartRelayDto,
    @IdempotencyKeyHeader() key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RelayTokenView> {
    return this.idempotency.run(reply, user, key, dto, (keep) =>
      this.relays.start(user, dto, keep),
    );
  }

  @Get()
  @ApiOperation({
    summary: 'Your own relays, newest first',
    description:
      'The relays you initiated or received (`role`), optionally of some statuses only ' +
      '(`status=0,1`), newest first, `limit` at a time (1-100, default 20). Pass `next_cursor` as ' +
      '`cursor` for the next page; it is null on the last. Any client token; 400 for a bad ' +
      'query value.',
  })
  @ApiEnvelope(RelayListView, [...CLIENT_ERRORS, ...DATABASE_ERRORS])
  list(@CurrentUser() user: ClientUser, @Query() query: ListRelaysQuery): Promise<RelayListView> {
    return this.relays.list(user, query);
  }

  @Get(':relay_id')
  @ApiOperation({
    summary: 'Read a relay of your app',
    description:
      'Any user of the app reads any relay of the app. 404 when there is none in your app ' +
      '(relays of other apps are never visible); 400 for a malformed `relay_id`.',
  })
  @ApiEnvelope(RelaySessionView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  get(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelaySessionView> {
    return this.relays.get(user, relayId);
  }

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
    @Id() relayId: string,
    @Query() query: RelayEventsQuery,
  ): Promise<RelayEventListView> {
    return this.relays.history(user, relayId, query);
  }

  @Get(':relay_id/token')
  @ApiOperation({
    summary: 'Your token to publish into the other room (status 1-4)',
    description:
      "Either anchor gets a fresh Qiniu RTC room token for the other anchor's room while the " +
      'relay is at 1-4. 403 for anyone but the two anchors; 601 at 0, 5 or 6.',
  })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 601, ...DATABASE_ERRORS])
  token(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayTokenView> {
    return this.relays.token(user, relayId);
  }

  @Post(':relay_id/accept')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Receiver agrees: 0 -> 1; answers the receiver token',
    description:
      "Only the receiver: 0 -> 1, with the receiver's token for the initiator's room. " +
      'Accepting again while 1-4 succeeds and changes nothing; 601 at 5 or 6; 403 for anyone ' +
      'else.',
  })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  accept(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayTokenView> {
    return this.relays.accept(user, relayId);
  }

  @Post(':relay_id/reject')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Receiver declines: 0 -> 5',
    description:
      'Only the receiver: 0 -> 5 with stop_reason `rejected`; both rooms are free again. ' +
      'Repeating it at 5 succeeds; 601 in any other status; 403 for anyone else.',
  })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  reject(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.reject(user, relayId);
  }

  @Post(':relay_id/started')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Report that you have joined the other room',
    description:
      'Either anchor, once it has joined the other room: 1 -> 2 (initiator) or 3 (receiver), ' +
      'and 2 or 3 -> 4 when the other side has reported too. A repeat changes nothing; 601 at ' +
      '0, 5 or 6; 403 for anyone but the two anchors.',
  })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  started(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.started(user, relayId);
  }

  @Post(':relay_id/stop')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End the relay (cancelled from 0 by the initiator, else stopped)',
    description:
      'Either anchor ends the relay: -> 6, reason `cancelled` when the initiator withdraws an ' +
      'invitation at 0, else `stopped`; both rooms are free again. At 5 or 6 it succeeds and ' +
      'changes nothing. 403 for anyone but the two anchors.',
  })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, ...DATABASE_ERRORS])
  stop(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.stop(user, relayId);
  }

  @Post(':relay_id/extends')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Merge extension fields: a string sets a key, null deletes it',
    description:
      'Either anchor merges keys into `extends` and gets the merged map. 400 when a key is not ' +
      '1-64 characters, a value is not a string or null, is over 1024 characters or has a ' +
      'control character, or the result would have more than 32 keys; 601 once the relay has ' +
      'ended; 403 for anyone but the two anchors.',
  })
  @ApiEnvelope(RelayExtendsView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  updateExtends(
    @CurrentUser() user: ClientUser,
    @Id() relayId: string,
    @Body() dto: UpdateExtendsDto,
  ): Promise<RelayExtendsView> {
    return this.relays.updateExtends(user, relayId, dto);
  }
}
