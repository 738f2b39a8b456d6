import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { MatchDto, MatchTicketView, MatchView, PoolQuery, PoolView } from './match.dto';
import { MatchService } from './match.service';

const MatchId = () => IdentifierParam('match_id');

@ApiTags('match')
@ClientAuth()
@Controller('client/relay/match')
export class MatchController {
  constructor(private readonly matches: MatchService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Random PK: be matched with another anchor waiting in the pool',
    description:
      'The anchor of a live room that is in no relay asks for a random opponent in `pool` ' +
      '(default `default`). When another anchor of your app waits in the pool, the one who has ' +
      'waited longest is matched with you at once: a relay of your two rooms is opened in auto ' +
      'mode (status 1, `origin: match`), theirs as the initiator, and the answer is your ticket ' +
      '`matched` with your tokens, as an accept answers. Otherwise your ticket waits ' +
      '(`waiting`) for `timeout_s` (default MATCH_TIMEOUT_S), and the other anchor learns of the ' +
      "match from the relay's first event or by reading the ticket. Asking again while your " +
      'room waits answers that ticket. 404 when there is no such room in your app; 403 when you ' +
      'are not its anchor; 601 when it is not live or is in a relay.',
  })
  @ApiEnvelope(MatchView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  match(@CurrentUser() user: ClientUser, @Body() dto: MatchDto): Promise<MatchView> {
    return this.matches.match(user, dto);
  }

  @Get()
  @ApiOperation({
    summary: 'How many tickets wait in a pool',
    description: 'Any user of the app: `{pool, waiting}`. 400 for a malformed pool.',
  })
  @ApiEnvelope(PoolView, [...CLIENT_ERRORS, ...DATABASE_ERRORS])
  count(@CurrentUser() user: ClientUser, @Query() query: PoolQuery): Promise<PoolView> {
    return this.matches.count(user, query);
  }

  @Get(':match_id')
  @ApiOperation({
    summary: 'Read your ticket',
    description:
      'Its anchor reads a ticket: `waiting`, `matched` (with its `relay_id`), `cancelled` or ' +
      '`timeout`, with the reason. 403 for anyone else of the app; 404 when there is no such ' +
      'ticket in your app.',
  })
  @ApiEnvelope(MatchTicketView, [...CLIENT_ERRORS, 403, 404, ...DATABASE_ERRORS])
  get(@CurrentUser() user: ClientUser, @MatchId() matchId: string): Promise<MatchTicketView> {
    return this.matches.get(user, matchId);
  }

  @Delete(':match_id')
  @ApiOperation({
    summary: 'Stop waiting: the ticket is cancelled',
    description:
      'Its anchor withdraws a waiting ticket (`cancelled`, reason `cancelled`). A ticket that ' +
      'has stopped waiting is answered as it is; a matched one is 601 (stop the relay instead). ' +
      '403 for anyone else of the app; 404 when there is no such ticket in your app.',
  })
  @ApiEnvelope(MatchTicketView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  cancel(@CurrentUser() user: ClientUser, @MatchId() matchId: string): Promise<MatchTicketView> {
    return this.matches.cancel(user, matchId);
  }
}
