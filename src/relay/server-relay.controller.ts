import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QiniuMacGuard } from '../auth/qiniu-mac.guard';
import { ApiEnvelope, DATABASE_ERRORS, SERVER_ERRORS } from '../common/api-envelope.decorator';
import { IdentifierParam } from '../common/identifier.pipe';
import { RelaySessionView, RelayStatusView } from './relay.dto';
import { RelayService } from './relay.service';

@ApiTags('server')
@ApiSecurity('qiniu')
@UseGuards(QiniuMacGuard)
@Controller('server/relay')
export class ServerRelayController {
  constructor(private readonly relays: RelayService) {}

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
  stop(@IdentifierParam('relay_id') relayId: string): Promise<RelayStatusView> {
    return this.relays.adminStop(relayId);
  }
}
