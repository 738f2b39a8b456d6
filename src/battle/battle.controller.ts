import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ClientAuth } from '../auth/client-auth.decorator';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { badRequest } from '../common/domain.error';
import { IdentifierParam } from '../common/identifier.pipe';
import {
  BattleListView,
  BattleView,
  ContributionListView,
  ContributionsQuery,
  ListBattlesQuery,
  StartBattleDto,
} from './battle.dto';
import { BattleService } from './battle.service';

const RelayId = () => IdentifierParam('relay_id');

/** A battle's number in its relay: a positive integer, else 400 (never a lookup). */
export function BattleNoParam(): ParameterDecorator {
  return (target, key, index) => {
    Param('battle_no', {
      // The validation pipe has made it a number already (NaN when it was no number at all).
      transform: (value: unknown) => {
        if (!/^[1-9]\d{0,8}$/.test(String(value))) {
          throw badRequest('battle_no must be a battle number (1, 2, 3...)');
        }
        return Number(value);
      },
    })(target, key, index);
    const descriptor = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (key === undefined || descriptor === undefined) return;
    ApiParam({
      name: 'battle_no',
      description: 'the battle: 1, 2, 3... within the relay',
      schema: { type: 'integer', minimum: 1, maximum: 999999999 },
    })(target, key, descriptor);
  };
}

const ANSWER =
  'Repeating the same answer succeeds and changes nothing; the other answer, or an answer ' +
  'from a room that is not invited, is 601. 403 for anyone but an anchor of the relay; 404 ' +
  'when there is no such relay in your app or no such battle.';

@ApiTags('battle')
@ClientAuth()
@Controller('client/relay/:relay_id')
export class BattleController {
  constructor(private readonly battles: BattleService) {}

  @Post('battles')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Start a battle (a timed PK round) over the relay',
    description:
      'An anchor whose room is joined starts the next battle while the relay is at 4 and no ' +
      'battle of it is open. Its rooms are the rooms joined at that moment, yours first. ' +
      '`mode` invite (default): the others accept or reject within BATTLE_INVITE_TIMEOUT_S; ' +
      'auto: the countdown begins at once. Then `countdown_s`, the fight of `duration_s` (gifts ' +
      'count for the battle), its result, and `punishment_s`. 601 when the relay is not at 4, ' +
      'your room is not joined, a battle is open or fewer than two rooms are joined; 403 for ' +
      'anyone but its anchors; 404 when there is no such relay in your app.',
  })
  @ApiEnvelope(BattleView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  start(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @Body() dto: StartBattleDto,
  ): Promise<BattleView> {
    return this.battles.start(user, relayId, dto);
  }

  @Get('battles')
  @ApiOperation({
    summary: "The relay's battles, newest first",
    description:
      'Any user of the app: `limit` at a time (1-100, default 20), paged with `cursor` ' +
      '(`next_cursor` of the page before; null on the last). 404 when there is no such relay in ' +
      'your app.',
  })
  @ApiEnvelope(BattleListView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  list(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @Query() query: ListBattlesQuery,
  ): Promise<BattleListView> {
    return this.battles.list(user, relayId, query);
  }

  @Get('battles/:battle_no')
  @ApiOperation({
    summary: 'Read one battle',
    description:
      'Any user of the app: its phase, rooms and scores, the live ranking while it fights, the ' +
      'winner and MVP once settled. 404 when there is no such relay in your app or no such battle.',
  })
  @ApiEnvelope(BattleView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  get(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @BattleNoParam() battleNo: number,
  ): Promise<BattleView> {
    return this.battles.get(user, relayId, battleNo);
  }

  @Post('battles/:battle_no/accept')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Your room takes part in the battle: invited -> agreed',
    description: `The anchor of a room invited to the battle agrees. ${ANSWER}`,
  })
  @ApiEnvelope(BattleView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  accept(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @BattleNoParam() battleNo: number,
  ): Promise<BattleView> {
    return this.battles.accept(user, relayId, battleNo);
  }

  @Post('battles/:battle_no/reject')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Your room takes no part in the battle: invited -> rejected',
    description: `The anchor of a room invited to the battle declines. ${ANSWER}`,
  })
  @ApiEnvelope(BattleView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  reject(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @BattleNoParam() battleNo: number,
  ): Promise<BattleView> {
    return this.battles.reject(user, relayId, battleNo);
  }

  @Post('battles/:battle_no/stop')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End the battle early',
    description:
      'The anchor of a room taking part: while invited, the starter cancels it (`cancelled`) ' +
      'and another room declines; from the countdown on it ends (`stopped`), settled first ' +
      'when it was fighting, with no punishment. An ended battle: success, no change. 601 when ' +
      'your room takes no part; 403 for anyone but an anchor of the relay; 404 when there is no ' +
      'such relay in your app or no such battle.',
  })
  @ApiEnvelope(BattleView, [...CLIENT_ERRORS, 403, 404, 413, 601, ...DATABASE_ERRORS])
  stop(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @BattleNoParam() battleNo: number,
  ): Promise<BattleView> {
    return this.battles.stop(user, relayId, battleNo);
  }

  @Get('contributions')
  @ApiOperation({
    summary: "Who gave the most to a room: the relay's or a battle's leaderboard",
    description:
      'Any user of the app: the contributors of `room_id` over the whole relay, or in battle ' +
      '`battle_no`, highest amount first (equal amounts: who reached theirs first, then ' +
      '`user_id`), `limit` at a time (1-100, default 20) with their `rank` across pages; pass ' +
      '`next_cursor` as `cursor` for the next page. 400 without `room_id`; 404 when there is no ' +
      'such relay in your app, the room is not one of its rooms, or there is no such battle.',
  })
  @ApiEnvelope(ContributionListView, [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS])
  contributions(
    @CurrentUser() user: ClientUser,
    @RelayId() relayId: string,
    @Query() query: ContributionsQuery,
  ): Promise<ContributionListView> {
    return this.battles.contributionsOf(user, relayId, query);
  }
}
