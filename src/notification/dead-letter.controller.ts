import {
  Controller,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QiniuMacGuard } from '../auth/qiniu-mac.guard';
import { ApiEnvelope } from '../common/api-envelope.decorator';
import { badRequest } from '../common/domain.error';
import { DeliveryListView, DeliveryView, ListDeliveriesQuery } from './dead-letter.dto';
import { DeadLetterService } from './dead-letter.service';

const DeliveryId = () =>
  Param(
    'id',
    new ParseIntPipe({ exceptionFactory: () => badRequest('id must be a delivery id (a number)') }),
  );

@ApiTags('server')
@ApiSecurity('qiniu')
@UseGuards(QiniuMacGuard)
@Controller('server/events')
export class DeadLetterController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @ApiOperation({
    summary: 'Webhook deliveries by status (default failed: the dead letters), newest first',
  })
  @ApiEnvelope(DeliveryListView, [400, 401])
  list(@Query() query: ListDeliveriesQuery): Promise<DeliveryListView> {
    return this.deadLetters.list(query);
  }

  @Post(':id/redeliver')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue a failed or delivered delivery again, its attempts reset' })
  @ApiEnvelope(DeliveryView, [400, 401, 404, 601])
  redeliver(@DeliveryId() id: number): Promise<DeliveryView> {
    return this.deadLetters.redeliver(id);
  }
}
