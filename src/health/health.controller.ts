import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

@ApiTags('operations')
@Controller()
export class HealthController {
  @Get('healthz')
  @ApiOkResponse({ description: 'the process is up', schema: { example: { status: 'ok' } } })
  health(): { status: string } {
    return { status: 'ok' };
  }
}
