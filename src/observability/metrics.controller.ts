import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope } from '../common/api-envelope.decorator';
import { Metrics } from './metrics.service';

@ApiTags('operations')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics; HTTP ones are named http_...',
    description:
      "This node's metrics in the Prometheus text format, for a scraper: HTTP requests and " +
      'durations by route and status, relays by status, webhook deliveries, open streams. No ' +
      'authentication; expose it to your monitoring network only.',
  })
  @ApiEnvelope(
    {
      mediaType: 'text/plain',
      description: 'Prometheus text exposition format 0.0.4',
      example:
        '# HELP http_requests_total HTTP requests answered, by route and status code\n# TYPE http_requests_total counter\n' +
        'http_requests_total{method="GET",route="/healthz",status_code="200"} 3\n',
    },
    [],
  )
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
