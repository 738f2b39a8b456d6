import { randomFillSync } from 'node:crypto';

/** A request's place in a W3C Trace Context trace (https://www.w3.org/TR/trace-context/). */
export interface TraceContext {
  /** 32 lowercase hex digits, shared by every span of the trace. */
  traceId: string;
  /** This service's span for the request: 16 lowercase hex digits. */
  spanId: string;
  /** The caller's span (the `parent-id` it sent), or null when this service started the trace. */
  parentId: string | null;
  /** The trace flags, 2 hex digits (`01`: sampled). */
  flags: string;
}

const HEX = /^[0-9a-f]+$/;
const allZero = (hex: string) => /^0+$/.test(hex);

/**
 * The trace id, parent id and flags of a `traceparent` header, or null when it is not valid.
 * Version 00 is exactly four fields; a later version may add fields after the flags, which are
 * ignored as the spec says; version ff, upper-case hex, and all-zero ids are invalid.
 */
export function parseTraceparent(
  header: string | string[] | undefined,
): { traceId: string; parentId: string; flags: string } | null {
  if (typeof header !== 'string') return null;
  const fields = header.trim().split('-');
  if (fields.length < 4) return null;
  const [version, traceId, parentId, flags] = fields;
  if (version.length !== 2 || !HEX.test(version) || version === 'ff') return null;
  if (version === '00' && fields.length !== 4) return null;
  if (fields.length > 4 && fields[4].length === 0) return null;
  if (traceId.length !== 32 || !HEX.test(traceId) || allZero(traceId)) return null;
  if (parentId.length !== 16 || !HEX.test(parentId) || allZero(parentId)) return null;
  if (flags.length !== 2 || !HEX.test(flags)) return null;
  return { traceId, parentId, flags };
}

/**
 * Random bytes for ids, drawn from a pool filled 4 KiB at a time: asking the system for 24
 * bytes on every request cost about a twelfth of a relay read's CPU.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}

/**
 * The trace of a request: the caller's, with a span of this service in it, when its
 * `traceparent` is valid; otherwise a new trace, sampled, since its id is logged.
 */
export function traceOf(header: string | string[] | undefined): TraceContext {
  const spanId = randomHex(8);
  const parent = parseTraceparent(header);
  if (parent === null) {
    return { traceId: randomHex(16), spanId, parentId: null, flags: '01' };
  }
  return { traceId: parent.traceId, spanId, parentId: parent.parentId, flags: parent.flags };
}

/**
 * The `traceparent` this service sends for a request's span, on the answer and on what the
 * request causes (webhooks): the same trace, this service's span as the parent. Always version
 * 00, the only one this service speaks.
 */
export function traceparentOf(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
