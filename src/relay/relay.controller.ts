import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { IdempotentAnswer, perUser } from '../idempotency/idempotency.interceptor';
import { KeepAnswer } from '../idempotency/idempotency.service';
import { Idempotent, REPLAYED_HEADER_DOC } from '../idempotency/idempotent.decorator';
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
  constructor(private readonly relays: RelayService) {}

  @Post('start')
  @HttpCode(200)
  @Idempotent(StartRelayDto, perUser)
  @ApiOperation({
    summary: 'Invite other live rooms to a relay (auto: agreed at once; invite: waits)',
    description:
      'The anchor of `init_room_id` invites the room `recv_room_id`, whose anchor is ' +
      '`recv_user_id`, or up to eight rooms at once with `recv_rooms` (a group relay; one ' +
      'entry is the same as the two fields). Mode `auto` (default RELAY_DEFAULT_MODE) agrees ' +
      'at once and answers your tokens (status 1); `invite` waits for the receivers (status 0, ' +
      '`relay_token` "", `relay_tokens` []). Checks in order, the first failure answers: the ' +
      'body (400); both forms or neither, a room twice or equal to yours, an anchor twice or ' +
      'you as a receiver (400); your room exists (404); you are its anchor (403); each other ' +
      'room exists with its anchor, in list order (404); every room live (601); none already ' +
      'in a relay (601). All rooms are claimed together or none.\n\n' +
      'With an `Idempotency-Key` header a retry is safe: a repeat with the same key and body ' +
      'by the same user within 24 hours creates nothing and answers what the first request ' +
      'answered, success or 4xx error (same status and `data`, a fresh `request_id`), with ' +
      '`Idempotent-Replayed: true`. The same key with another body is 400; a repeat while the ' +
      'first is still running is 409 code 601. A malformed key is 400.',
  })
  @ApiEnvelope(
    RelayTokenView,
    [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS],
    REPLAYED_HEADER_DOC,
  )
  start(
    @CurrentUser() user: ClientUser,
    @Body() dto: StartRelayDto,
    @IdempotentAnswer() keep: KeepAnswer | undefined,
  ): Promise<RelayTokenView> {
    return this.relays.start(user, dto, keep);
  }

  @Get()
  @ApiOperation({
    summary: 'Your own relays, newest first',
    description:
      'The relays you initiated or were invited to as any receiver (`role`), optionally of some statuses only ' +
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

  @Get(':relay_id/token')
  @ApiOperation({
    summary: 'Your tokens to publish into the other rooms (status 1-4)',
    description:
      'An anchor whose room is agreed or joined gets fresh Qiniu RTC room tokens for every ' +
      'other room that is agreed or joined (`relay_tokens`; `relay_token` is the first) while ' +
      'the relay is at 1-4. 403 for anyone but its anchors; 601 at 0, 5 or 6, or when your ' +
      'room is invited, rejected or has left.',
  })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 601, ...DATABASE_ERRORS])
  token(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayTokenView> {
    return this.relays.token(user, relayId);
  }

  @Post(':relay_id/accept')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A receiver agrees: its room invited -> agreed; answers its tokens',
    description:
      "A receiver's room goes from invited to agreed; the relay goes 0 -> 1 with the first " +
      "receiver to agree. Answers the receiver's tokens, the initiator's room first. " +
      'Accepting again while agreed or joined succeeds and changes nothing; 601 when the ' +
      'room has rejected or left, or the relay is at 5 or 6; 403 for anyone but a receiver.',
  })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  accept(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayTokenView> {
    return this.relays.accept(user, relayId);
  }

  @Post(':relay_id/reject')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A receiver declines: its room invited -> rejected',
    description:
      "A receiver's room goes from invited to rejected and is free again. When every " +
      'receiver has rejected, the relay ends at 5 (`rejected`), and 0 -> 5 in a relay of two ' +
      'rooms; when too few rooms remain otherwise, it ends at 6. Repeating it while rejected ' +
      'succeeds; 601 in any other room state; 403 for anyone but a receiver.',
  })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  reject(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.reject(user, relayId);
  }

  @Post(':relay_id/started')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Report that you have joined the other rooms',
    description:
      'An anchor whose room is agreed, once it publishes into the others: its room -> joined; ' +
      'the relay 1 -> 2 (initiator) or 3 (a receiver), and 2 or 3 -> 4 once the initiator and ' +
      'a receiver have both joined. A repeat changes nothing; 601 at 0, 5 or 6, or when your ' +
      'room is invited, rejected or has left; 403 for anyone but its anchors.',
  })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  started(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.started(user, relayId);
  }

  @Post(':relay_id/stop')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Leave the relay; the initiator ends it (cancelled from 0, else stopped)',
    description:
      'The initiator ends the relay: -> 6, reason `cancelled` when it withdraws an ' +
      'invitation at 0, else `stopped`; every room is free again. A receiver leaves: its room ' +
      '-> left (`stopped`) and is free again; the relay goes on while two rooms are in, else ' +
      'it ends (a relay of two rooms ends with `stopped`). At 5 or 6, or when your room is no ' +
      'longer in, it succeeds and changes nothing. 403 for anyone but its anchors.',
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
      'An anchor whose room is in merges keys into `extends` and gets the merged map. 400 when ' +
      'a key is not 1-64 characters, a value is not a string or null, is over 1024 characters ' +
      'or has a control character, or the result would have more than 32 keys; 601 once the ' +
      'relay has ended or your room has rejected or left; 403 for anyone but its anchors.',
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
