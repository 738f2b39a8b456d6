import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
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
  @ApiOperation({
    summary: 'Invite another live room to a relay (auto: agreed at once; invite: waits)',
  })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  start(@CurrentUser() user: ClientUser, @Body() dto: StartRelayDto): Promise<RelayTokenView> {
    return this.relays.start(user, dto);
  }

  @Get()
  @ApiOperation({ summary: 'Your own relays, newest first' })
  @ApiEnvelope(RelayListView, [...CLIENT_ERRORS, ...DATABASE_ERRORS])
  list(@CurrentUser() user: ClientUser, @Query() query: ListRelaysQuery): Promise<RelayListView> {
    return this.relays.list(user, query);
  }

  @Get(':relay_id')
  @ApiOperation({ summary: 'Read a relay of your app' })
  @ApiEnvelope(RelaySessionView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  get(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelaySessionView> {
    return this.relays.get(user, relayId);
  }

  @Get(':relay_id/token')
  @ApiOperation({ summary: 'Your token to publish into the other room (status 1-4)' })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 601, ...DATABASE_ERRORS])
  token(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayTokenView> {
    return this.relays.token(user, relayId);
  }

  @Post(':relay_id/accept')
  @HttpCode(200)
  @ApiOperation({ summary: 'Receiver agrees: 0 -> 1; answers the receiver token' })
  @ApiEnvelope(RelayTokenView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  accept(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayTokenView> {
    return this.relays.accept(user, relayId);
  }

  @Post(':relay_id/reject')
  @HttpCode(200)
  @ApiOperation({ summary: 'Receiver declines: 0 -> 5' })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  reject(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.reject(user, relayId);
  }

  @Post(':relay_id/started')
  @HttpCode(200)
  @ApiOperation({ summary: 'Report that you have joined the other room' })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  started(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.started(user, relayId);
  }

  @Post(':relay_id/stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'End the relay (cancelled from 0 by the initiator, else stopped)' })
  @ApiEnvelope(RelayStatusView, [...CLIENT_ERRORS, 403, 404, 413, ...DATABASE_ERRORS])
  stop(@CurrentUser() user: ClientUser, @Id() relayId: string): Promise<RelayStatusView> {
    return this.relays.stop(user, relayId);
  }

  @Post(':relay_id/extends')
  @HttpCode(200)
  @ApiOperation({ summary: 'Merge extension fields: a string sets a key, null deletes it' })
  @ApiEnvelope(RelayExtendsView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  updateExtends(
    @CurrentUser() user: ClientUser,
    @Id() relayId: string,
    @Body() dto: UpdateExtendsDto,
  ): Promise<RelayExtendsView> {
    return this.relays.updateExtends(user, relayId, dto);
  }
}
