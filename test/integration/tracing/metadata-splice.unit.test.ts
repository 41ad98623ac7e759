// The trace keys spliced into metadata that src/eventstore hands the client as JSON bytes: the
// result parses to the same object plus the keys (ours win over a stale copy), and bytes that are
// no JSON object are left alone. And the context read back from an event's `$traceparent`: only
// a well-formed one, never all-zero ids.
import { TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { spliceJsonObject } from '../../../src/observability/esdb-instrumentation.js';
import { traceContextOf } from '../../../src/observability/esdb-trace-context.js';

const utf8 = new TextEncoder();
const members = '"$traceId":"4bf92f3577b34da6a3ce929d0e0e4736","$spanId":"00f067aa0ba902b7"';
const parsed = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : (JSON.parse(new TextDecoder().decode(bytes)) as unknown));

describe('splicing trace keys into JSON metadata bytes', () => {
  it('adds them to an object, an empty one, or one with whitespace around', () => {
    const keys = { $traceId: '4bf92f3577b34da6a3ce929d0e0e4736', $spanId: '00f067aa0ba902b7' };
    expect(parsed(spliceJsonObject(utf8.encode('{"$correlationId":"c-1","n":{"a":[1,2]}}'), members))).toEqual({ $correlationId: 'c-1', n: { a: [1, 2] }, ...keys });
    expect(parsed(spliceJsonObject(utf8.encode('{}'), members))).toEqual(keys);
    expect(parsed(spliceJsonObject(utf8.encode(' { \n } \n'), members))).toEqual(keys);
    expect(parsed(spliceJsonObject(utf8.encode('\t{ "a" : 1 }\r\n'), members))).toEqual({ a: 1, ...keys });
  });

  it('wins over keys the metadata already had (the last of duplicate keys is the one read)', () => {
    expect(parsed(spliceJsonObject(utf8.encode('{"$traceId":"stale","$spanId":"stale"}'), members))).toMatchObject({ $traceId: '4bf92f3577b34da6a3ce929d0e0e4736', $spanId: '00f067aa0ba902b7' });
  });

  it('gives a plain Uint8Array, which the client sends as bytes (anything else it stringifies as JSON)', () => {
    expect(spliceJsonObject(utf8.encode('{"a":1}'), members)?.constructor).toBe(Uint8Array);
  });

  it('leaves bytes that are no JSON object alone', () => {
    for (const text of ['', '[]', '"text"', '42', 'not json', '{"a":1']) expect(spliceJsonObject(utf8.encode(text), members), text).toBeUndefined();
  });
});

describe('reading the appending span from $traceparent', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';

  it('reads a dropped and a sampled one, flags reduced to SAMPLED', () => {
    expect(traceContextOf({ $traceparent: `00-${traceId}-${spanId}-00` })).toEqual({ traceId, spanId, traceFlags: TraceFlags.NONE, isRemote: true });
    expect(traceContextOf({ $traceparent: `00-${traceId}-${spanId}-03` })).toEqual({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  });

  it('refuses all-zero ids and anything not in the W3C form', () => {
    for (const traceparent of [
      `00-${'0'.repeat(32)}-${spanId}-00`,
      `00-${traceId}-${'0'.repeat(16)}-00`,
      `00-${traceId.toUpperCase()}-${spanId}-00`,
      `01-${traceId}-${spanId}-00`,
      `00-${traceId}-${spanId}-00-extra`,
      `00-${traceId.slice(1)}-${spanId}-00`,
    ]) {
      expect(traceContextOf({ $traceparent: traceparent }), traceparent).toBeUndefined();
    }
  });
});
