import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { Clock } from '../common/clock';
import { badRequest, badStatus, DomainError, ErrorCode } from '../common/domain.error';
import { identityFields, RequestIdentity } from '../common/request-identity';
import { Database, Sql } from '../database/database.service';
import { IdempotencyRecord, IdempotencyScope, IdempotencyStore } from './idempotency.store';

/** How long a key answers with its first answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * How long a running claim is honoured. A start is one short transaction, so a claim still
 * running after a minute belongs to a process that died (or lost its database) mid-way; the
 * next request with the key takes it over and runs again. The first run cannot commit a relay
 * after that: it stores its answer in the relay's own transaction, conditional on its claim.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;

export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** Stores the success answer inside the work's own transaction; throws if the claim was lost. */
export type KeepAnswer = (sql: Sql, data: unknown) => Promise<void>;

/**
 * Runs a request at most once per key (docs/api.md, "Idempotent retries"): the first request
 * claims the key with an INSERT that the unique key lets only one node win, runs, and stores
 * its final answer; a repeat with the same body answers that, with `Idempotent-Replayed: true`.
 * Answers stored: successes and the 4xx errors the work throws (an error is as final as a
 * success: nothing was created, and a retry with the same body would get it again). A 5xx is
 * not stored: the claim is given up, so a retry runs afresh.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);

  constructor(
    private readonly db: Database,
    private readonly store: IdempotencyStore,
    private readonly clock: Clock,
  ) {}

  /** Runs `work` under the key of `scope`, for the request `who`. */
  async run<T>(
    reply: FastifyReply,
    who: RequestIdentity,
    scope: IdempotencyScope,
    body: unknown,
    work: (keep: KeepAnswer) => Promise<T>,
  ): Promise<T> {
    const fingerprint = createHash('sha256').update(canonicalJson(body)).digest('hex');
    const now = this.clock.now();
    const { claimed, row } = await this.db.transaction(async (sql) => {
      const { inserted, row } = await this.store.claim(sql, scope, fingerprint, now);
      if (inserted) return { claimed: true, row };
      // An expired key is forgotten, whatever body it had; a lapsed lease is taken over only by
      // a retry of the same request.
      const stale =
        row.createdAt <= now - IDEMPOTENCY_TTL_MS ||
        (row.state === 'running' &&
          row.fingerprint === fingerprint &&
          row.createdAt <= now - IDEMPOTENCY_LEASE_MS);
      if (stale) await this.store.reclaim(sql, row, fingerprint, now);
      return { claimed: stale, row };
    }, who);
    if (!claimed) return this.answerFromRow<T>(reply, row, fingerprint);
    return this.runClaimed(who, row.id, now, work);
  }

  private answerFromRow<T>(reply: FastifyReply, row: IdempotencyRecord, fingerprint: string): T {
    if (row.fingerprint !== fingerprint) {
      throw badRequest('Idempotency-Key was already used with another request body');
    }
    if (row.state === 'running' || row.answer === null) {
      throw badStatus('a request with this Idempotency-Key is still in progress');
    }
    const answer = JSON.parse(row.answer) as { code: ErrorCode | 0; message: string; data?: T };
    void reply.header(REPLAYED_HEADER, 'true');
    if (answer.code !== 0) throw new DomainError(answer.code, answer.message);
    return answer.data as T;
  }

  private async runClaimed<T>(
    who: RequestIdentity,
    id: number,
    claimedAt: number,
    work: (keep: KeepAnswer) => Promise<T>,
  ): Promise<T> {
    const keep: KeepAnswer = async (sql, data) => {
      const answer = { code: 0, message: 'success', data };
      // Taken over after the lease: the relay of this run must not commit beside the other's.
      if (!(await this.store.finish(sql, id, claimedAt, 200, answer))) {
        throw badStatus('a request with this Idempotency-Key is still in progress');
      }
    };
    try {
      return await work(keep);
    } catch (error) {
      // The client gets this error in any case; should storing it fail too, the claim lapses
      // with its lease and a retry runs afresh.
      await this.db
        .transaction<unknown>(
          (sql) =>
            error instanceof DomainError && error.httpStatus < 500
              ? this.store.finish(sql, id, claimedAt, error.httpStatus, {
                  code: error.code,
                  message: error.message,
                })
              : this.store.release(sql, id, claimedAt),
          who,
        )
        .catch((storeError: unknown) =>
          this.logger.error(
            `storing an idempotent answer failed: ${String(storeError)}`,
            identityFields(who),
          ),
        );
      throw error;
    }
  }
}

/** JSON with every object's keys sorted, so that equal bodies have equal fingerprints. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
