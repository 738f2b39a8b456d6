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
import { ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { QiniuMacGuard } from '../auth/qiniu-mac.guard';
import { ApiEnvelope, DATABASE_ERRORS, SERVER_ERRORS } from '../common/api-envelope.decorator';
import { badRequest } from '../common/domain.error';
import { RequestIdentity } from '../common/request-identity';
import { Requester } from '../common/request-identity.decorator';
import { DeliveryListView, DeliveryView, ListDeliveriesQuery } from './dead-letter.dto';
import { DeadLetterService } from './dead-letter.service';

const DeliveryId = () =>
  Param(
    'delivery_id',
    new ParseIntPipe({
      exceptionFactory: () => badRequest('delivery_id must be a delivery id (a number)'),
    }),
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
    description:
      'Your backend lists webhook deliveries (one event to one URL) with status `failed` (the ' +
      'default: those that used up WEBHOOK_MAX_ATTEMPTS), `pending` or `delivered`, `limit` at ' +
      'a time, paged with `cursor`. 401 for a missing or wrong Qiniu signature.',
  })
  @ApiEnvelope(DeliveryListView, [...SERVER_ERRORS, ...DATABASE_ERRORS])
  list(@Query() query: ListDeliveriesQuery): Promise<DeliveryListView> {
    return this.deadLetters.list(query);
  }

  // Named delivery_id, not id, in the path template: an entry of GET /server/events has both an
  // `id` and an `event_id`, and only the first one is accepted here.
  @Post(':delivery_id/redeliver')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Queue a failed or delivered delivery again, its attempts reset',
    description:
      'Your backend sends one delivery again, its attempts reset. 404 when there is no such ' +
      'delivery; 601 while it is still pending; 401 for a missing or wrong Qiniu signature.',
  })
  @ApiParam({
    name: 'delivery_id',
    schema: { type: 'integer', minimum: 1, example: 7 },
    description:
      'the delivery to send again: the `id` of an entry listed by GET /server/events (one ' +
      'event to one URL), not its `event_id`',
  })
  @ApiEnvelope(DeliveryView, [...SERVER_ERRORS, 404, 413, 601, ...DATABASE_ERRORS])
  redeliver(@DeliveryId() id: number, @Requester() who: RequestIdentity): Promise<DeliveryView> {
    return this.deadLetters.redeliver(id, who);
  }
}
