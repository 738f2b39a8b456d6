import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QiniuMacGuard } from '../auth/qiniu-mac.guard';
import { ApiEnvelope, DATABASE_ERRORS, SERVER_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { RequestIdentity } from '../common/request-identity';
import { Requester } from '../common/request-identity.decorator';
import { IdempotentAnswer, perApp } from '../idempotency/idempotency.interceptor';
import { KeepAnswer } from '../idempotency/idempotency.service';
import { Idempotent, REPLAYED_HEADER_DOC } from '../idempotency/idempotent.decorator';
import {
  RelayListView,
  RelaySessionView,
  RelayStatusView,
  ScoreDto,
  ScoreView,
  ServerListRelaysQuery,
  ServerStartRelayDto,
} from './relay.dto';
import { RelayService } from './relay.service';

@ApiTags('server')
@ApiSecurity('qiniu')
@UseGuards(QiniuMacGuard)
@Controller('server/relay')
export class ServerRelayController {
  constructor(private readonly relays: RelayService) {}

  @Post('start')
  @HttpCode(200)
  @Idempotent(ServerStartRelayDto, perApp)
  @ApiOperation({
    summary: 'Start a relay between rooms of an app (a tournament, a scheduled PK)',
    description:
      'Your backend starts a relay as the anchor of `init_room_id` would, without an anchor ' +
      'token: the body of the client start and the `app_id`; `mode` is `auto` unless it says ' +
      'otherwise. The same checks in the same order, but those about a caller: the body (400), ' +
      'an anchor twice (400), each room exists with its anchor (404), every room live (601), ' +
      'none already in a relay (601). The session shows `origin: server`; the anchors fetch ' +
      'their tokens as usual. An `Idempotency-Key` makes a retry safe, the keys being the ' +
      "app's: a repeat answers the first answer with `Idempotent-Replayed: true`.",
  })
  @ApiEnvelope(
    RelayStatusView,
    [...SERVER_ERRORS, 404, 413, 601, ...DATABASE_ERRORS],
    REPLAYED_HEADER_DOC,
  )
  start(
    @Body() dto: ServerStartRelayDto,
    @Requester() who: RequestIdentity,
    @IdempotentAnswer() keep: KeepAnswer | undefined,
  ): Promise<RelayStatusView> {
    return this.relays.startAny(dto, who, keep);
  }

  @Get()
  @ApiOperation({
    summary: "An app's relays that include a room, the one holding it first",
    description:
      'Your backend finds the relays of `app_id` that include `room_id` (required), newest ' +
      'first, the relay that holds the room now first of all, optionally of some statuses only ' +
      '(`status=0,1`), `limit` at a time (1-100, default 20), paged with `cursor`. 400 for a bad ' +
      'query; 401 for a missing or wrong Qiniu signature.',
  })
  @ApiEnvelope(RelayListView, [...SERVER_ERRORS, ...DATABASE_ERRORS])
  list(@Query() query: ServerListRelaysQuery): Promise<RelayListView> {
    return this.relays.listOfRoom(query);
  }

  @Get(':relay_id')
  @ApiOperation({
    summary: "Read any app's relay",
    description:
      'Your backend reads a relay of any app. 401 for a missing or wrong Qiniu signature; 404 ' +
      'when there is no such relay.',
  })
  @ApiEnvelope(RelaySessionView, [...SERVER_ERRORS, 404, ...DATABASE_ERRORS])
  get(@IdentifierParam('relay_id') relayId: string): Promise<RelaySessionView> {
    return this.relays.getAny(relayId);
  }

  @Post(':relay_id/stop')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End a relay with reason admin',
    description:
      'Your backend ends a relay of any app: -> 6 with reason `admin`; at 5 or 6 it succeeds ' +
      'and changes nothing. 401 for a missing or wrong Qiniu signature; 404 when there is no ' +
      'such relay.',
  })
  @ApiEnvelope(RelayStatusView, [...SERVER_ERRORS, 404, 413, ...DATABASE_ERRORS])
  stop(
    @IdentifierParam('relay_id') relayId: string,
    @Requester() who: RequestIdentity,
  ): Promise<RelayStatusView> {
    return this.relays.adminStop(relayId, who);
  }

  @Post(':relay_id/score')
  @HttpCode(200)
  @ApiOperation({
    summary: "Add to or set a room's PK score",
    description:
      'Your gift system changes the score of one room of a relay at status 1-4: `delta` ' +
      '(-1,000,000,000..1,000,000,000, not 0) is added, or `score` (0..1,000,000,000,000) ' +
      'replaces it; give exactly one. Concurrent requests on any node all count, each once. ' +
      'With a `score_id` (your gift id) a gift counts once: a later request with the same ' +
      '`score_id` on this relay changes nothing and answers the current scores with ' +
      '`duplicate: true`, however often it is retried. Each change records a ' +
      '`relay.score_changed` event. 400 for a bad body, or a result outside ' +
      '-9,007,199,254,740,991..9,007,199,254,740,991 (nothing changes); 401 for a missing or ' +
      'wrong Qiniu signature; 404 when there is no such relay or `room_id` is not one of its ' +
      'rooms; 601 when the relay is not at status 1-4 or the room has rejected or left (it ' +
      'keeps its score).',
  })
  @ApiEnvelope(ScoreView, [...SERVER_ERRORS, 404, 413, 601, ...DATABASE_ERRORS])
  score(
    @IdentifierParam('relay_id') relayId: string,
    @Body() dto: ScoreDto,
    @Requester() who: RequestIdentity,
  ): Promise<ScoreView> {
    return this.relays.score(relayId, dto, who);
  }
}
