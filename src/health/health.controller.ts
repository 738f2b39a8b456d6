import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope } from '../common/api-envelope.decorator';
import { DomainError, ErrorCode } from '../common/domain.error';
import { Database } from '../database/database.service';

const READY_TIMEOUT_MS = 2000;

export class HealthView {
  @ApiProperty({ enum: ['ok', 'ready'], description: 'ok: /healthz; ready: /readyz' })
  status!: 'ok' | 'ready';
}

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get('healthz')
  @ApiOperation({
    summary: 'The process is up',
    description:
      'Liveness, for a load balancer or orchestrator: answers while the process runs, without ' +
      'touching the database. No authentication.',
  })
  @ApiEnvelope(HealthView, [])
  health(): HealthView {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({
    summary: 'The database answers (503 if not)',
    description:
      'Readiness: runs one query on the database, 503 when it has not answered within 2 s. No ' +
      'authentication.',
  })
  @ApiEnvelope(HealthView, [503])
  async ready(): Promise<HealthView> {
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
