import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QiniuMacGuard } from '../auth/qiniu-mac.guard';
import { ApiEnvelope, DATABASE_ERRORS, SERVER_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { RequestIdentity } from '../common/request-identity';
import { Requester } from '../common/request-identity.decorator';
import { BattleNoParam } from './battle.controller';
import { BattleView, ServerStartBattleDto } from './battle.dto';
import { BattleService } from './battle.service';

@ApiTags('server')
@ApiSecurity('qiniu')
@UseGuards(QiniuMacGuard)
@Controller('server/relay/:relay_id/battles')
export class ServerBattleController {
  constructor(private readonly battles: BattleService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: "Start a battle of the relay's joined rooms at once",
    description:
      'Your backend (a tournament, a scheduled PK) starts the next battle of a relay at 4 with ' +
      'every joined room, in relay order, without invitations. 601 when the relay is not at 4, ' +
      'a battle is open or fewer than two rooms are joined; 401 for a missing or wrong Qiniu ' +
      'signature; 404 when there is no such relay.',
  })
  @ApiEnvelope(BattleView, [...SERVER_ERRORS, 404, 413, 601, ...DATABASE_ERRORS])
  start(
    @IdentifierParam('relay_id') relayId: string,
    @Body() dto: ServerStartBattleDto,
    @Requester() who: RequestIdentity,
  ): Promise<BattleView> {
    return this.battles.startAny(relayId, dto, who);
  }

  @Post(':battle_no/stop')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End a battle with reason admin',
    description:
      'Your backend ends a battle: `admin`, settled first when it was fighting, no punishment. ' +
      'An ended battle: success, no change. 401 for a missing or wrong Qiniu signature; 404 ' +
      'when there is no such relay or battle.',
  })
  @ApiEnvelope(BattleView, [...SERVER_ERRORS, 404, 413, ...DATABASE_ERRORS])
  stop(
    @IdentifierParam('relay_id') relayId: string,
    @BattleNoParam() battleNo: number,
    @Requester() who: RequestIdentity,
  ): Promise<BattleView> {
    return this.battles.stopAny(relayId, battleNo, who);
  }
}
