import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QiniuMacGuard } from '../auth/qiniu-mac.guard';
import { ApiEnvelope } from '../common/api-envelope.decorator';
import { IdentifierPipe } from '../common/identifier.pipe';
import { RelaySessionView, RelayStatusView } from './relay.dto';
import { RelayService } from './relay.service';

@ApiTags('server')
@ApiSecurity('qiniu')
@UseGuards(QiniuMacGuard)
@Controller('server/relay')
export class ServerRelayController {
  constructor(private readonly relays: RelayService) {}

  @Get(':relay_id')
  @ApiOperation({ summary: "Read any app's relay" })
  @ApiEnvelope(RelaySessionView, [400, 401, 404])
  get(@Param('relay_id', IdentifierPipe) relayId: string): Promise<RelaySessionView> {
    return this.relays.getAny(relayId);
  }

  @Post(':relay_id/stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'End a relay with reason admin' })
  @ApiEnvelope(RelayStatusView, [400, 401, 404])
  stop(@Param('relay_id', IdentifierPipe) relayId: string): Promise<RelayStatusView> {
    return this.relays.adminStop(relayId);
  }
}
