import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DomainError, ErrorCode } from '../common/domain.error';
import { Database } from '../database/database.service';

const READY_TIMEOUT_MS = 2000;

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get('healthz')
  @ApiOkResponse({
    description: 'the process is up',
    schema: { example: { code: 0, data: { status: 'ok' } } },
  })
  health(): { status: string } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOkResponse({
    description: 'the database answers',
    schema: { example: { code: 0, data: { status: 'ready' } } },
  })
  @ApiResponse({ status: 503, description: 'code 503: the database does not answer' })
  async ready(): Promise<{ status: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.db.read((sql) => sql.rows('SELECT 1 AS ok')), timeout]);
    } catch {
      throw new DomainError(ErrorCode.ServiceUnavailable, 'database unreachable');
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready' };
  }
}
