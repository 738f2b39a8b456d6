import { parseTraceparent, traceOf, traceparentOf } from './trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe(parseTraceparent.name, () => {
  it.each<[string | undefined, ReturnType<typeof parseTraceparent>]>([
    [`00-${TRACE}-${PARENT}-01`, { traceId: TRACE, parentId: PARENT, flags: '01' }],
    [`00-${TRACE}-${PARENT}-00`, { traceId: TRACE, parentId: PARENT, flags: '00' }],
    [` 00-${TRACE}-${PARENT}-01 `, { traceId: TRACE, parentId: PARENT, flags: '01' }],
    [`01-${TRACE}-${PARENT}-01-future`, { traceId: TRACE, parentId: PARENT, flags: '01' }],
    [`00-${TRACE}-${PARENT}-01-extra`, null],
    [`01-${TRACE}-${PARENT}-01-`, null],
    [`ff-${TRACE}-${PARENT}-01`, null],
    [`00-${TRACE.toUpperCase()}-${PARENT}-01`, null],
    [`00-${'0'.repeat(32)}-${PARENT}-01`, null],
    [`00-${TRACE}-${'0'.repeat(16)}-01`, null],
    [`00-${TRACE.slice(1)}-${PARENT}-01`, null],
    [`00-${TRACE}-${PARENT}-1`, null],
    [`0-${TRACE}-${PARENT}-01`, null],
    ['garbage', null],
    [undefined, null],
  ])('%s -> %j', (header, parsed) => {
    expect(parseTraceparent(header)).toEqual(parsed);
  });
});

describe(traceOf.name, () => {
  it.each([
    [`00-${TRACE}-${PARENT}-01`, TRACE, PARENT, '01'],
    [`00-${TRACE}-${PARENT}-00`, TRACE, PARENT, '00'],
    ['00-invalid', null, null, '01'],
    [undefined, null, null, '01'],
  ])('%s: trace %s, parent %s, flags %s', (header, traceId, parentId, flags) => {
    const trace = traceOf(header);
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    if (traceId !== null) expect(trace.traceId).toBe(traceId);
    expect(trace.parentId).toBe(parentId);
    expect(trace.flags).toBe(flags);
    // A span of this service: new, and never the caller's.
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).not.toBe(PARENT);
    expect(parseTraceparent(traceparentOf(trace))).toEqual({
      traceId: trace.traceId,
      parentId: trace.spanId,
      flags,
    });
  });

  it('starts a different trace each time', () => {
    expect(traceOf(undefined).traceId).not.toBe(traceOf(undefined).traceId);
  });
});
