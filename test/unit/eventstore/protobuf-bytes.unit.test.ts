import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { googleBytesAsU8, nativeBytesAsU8 } from '../../../src/eventstore/protobuf-bytes.js';

/** The decoder's answer, or the error it threw, comparable with toEqual. */
function outcome(decode: (value: unknown) => Uint8Array | null | undefined, value: unknown): unknown {
  try {
    const bytes = decode(value);
    return bytes instanceof Uint8Array ? { bytes: Array.from(bytes) } : { value: bytes };
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

describe("the client's protobuf bytes decoded by Node", () => {
  it('gives the bytes google-protobuf gives for what the client sends: base64 of any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3_000 }), (bytes) => {
        const sent = Buffer.from(bytes).toString('base64');
        expect(Array.from(nativeBytesAsU8(sent)!)).toEqual(Array.from(googleBytesAsU8(sent)!));
        expect(Array.from(nativeBytesAsU8(sent)!)).toEqual(Array.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('answers as google-protobuf does for any string, web-safe, `.`-padded, spaced or broken', () => {
    const char = fc.constantFrom(...'ABCXYZabcxyz0189+/-_=. \n'.split(''));
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }).map((chars) => chars.join('')), (text) => {
        expect(outcome(nativeBytesAsU8, text)).toEqual(outcome(googleBytesAsU8, text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('leaves bytes, null and undefined as google-protobuf does', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(nativeBytesAsU8(bytes)).toBe(bytes);
    expect(nativeBytesAsU8(null)).toBeNull();
    expect(nativeBytesAsU8(undefined)).toBeUndefined();
  });
});
