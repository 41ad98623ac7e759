// The trace keys spliced into metadata that src/eventstore hands the client as JSON bytes: the
// result parses to the same object plus the keys (ours win over a stale copy), and bytes that are
// no JSON object are left alone.
import { describe, expect, it } from 'vitest';
import { spliceJsonObject } from '../../../src/observability/esdb-instrumentation.js';

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
