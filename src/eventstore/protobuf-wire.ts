// The protobuf wire format as the client's google-protobuf messages read it, for the decoders of
// our own (persistent-read-decoder.ts, batch-append-codec.ts): a cursor over a message's bytes
// that throws Malformed on anything those decoders leave to google-protobuf, and the small
// messages (UUID, StreamIdentifier) they share, answering the getters the client reads with
// google-protobuf's values and defaults.
import { isUtf8 } from 'node:buffer';

export const EMPTY = new Uint8Array(0);
export const TWO_32 = 4_294_967_296;

export class Malformed extends Error {}

/** A cursor over one message's bytes. */
export class Reader {
  pos: number;
  /** The same bytes as a Buffer, for its UTF-8 decoder (one view for the whole message). */
  readonly text: Buffer;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    /** The end of the message being read: the innermost one's while a sub-message is read. */
    public end: number,
  ) {
    this.pos = start;
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A varint of up to 32 bits (tags, lengths, int32: a negative int32 is 10 bytes, its low 32 bits kept). */
  uint32(): number {
    const bytes = this.bytes;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Malformed('truncated varint');
      const byte = bytes[this.pos++]!;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result >>> 0;
      shift += 7;
      if (shift > 63) throw new Malformed('varint too long');
    }
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** A 64-bit varint as google-protobuf's `readUint64String` (or `readInt64String`, signed) gives it. */
  uint64String(signed = false): string {
    const bytes = this.bytes;
    let low = 0;
    let high = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Malformed('truncated varint');
      const byte = bytes[this.pos++]!;
      const bits = byte & 0x7f;
      if (shift < 28) low |= bits << shift;
      else if (shift === 28) {
        low |= (bits & 0x0f) << 28;
        high |= bits >> 4;
      } else if (shift < 64) high |= bits << (shift - 32);
      if (byte < 0x80) break;
      shift += 7;
      if (shift > 63) throw new Malformed('varint too long');
    }
    low >>>= 0;
    high >>>= 0;
    // Below 2^53 a number holds it exactly; a negative int64 or anything larger goes through BigInt.
    if (high < 0x200000) return String(high * TWO_32 + low);
    const value = (BigInt(high) << 32n) | BigInt(low);
    return (signed ? BigInt.asIntN(64, value) : value).toString();
  }

  /** The end of a length-delimited field that starts here. */
  delimited(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.end) throw new Malformed('truncated field');
    return end;
  }

  bytesField(): Uint8Array {
    const end = this.delimited();
    const view = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return view;
  }

  /** Valid UTF-8 as Node decodes it; google-protobuf decodes broken UTF-8 its own way: left to it. */
  string(): string {
    const end = this.delimited();
    const text = this.text.toString('utf8', this.pos, end);
    if (text.includes('\uFFFD') && !isUtf8(this.bytes.subarray(this.pos, end))) throw new Malformed('not UTF-8');
    this.pos = end;
    return text;
  }

  /** Past a field of `wireType` this decoder does not read. */
  skip(wireType: number): void {
    if (wireType === 0) this.uint64String();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos = this.delimited();
    else if (wireType === 5) this.pos += 4;
    else throw new Malformed(`wire type ${wireType}`);
    if (this.pos > this.end) throw new Malformed('truncated field');
  }
}

/** A length-delimited sub-message, read by `read` within its own bounds. */
export function within<T>(reader: Reader, read: (reader: Reader, end: number) => T): T {
  const stop = reader.delimited();
  const outer = reader.end;
  reader.end = stop;
  const value = read(reader, stop);
  reader.end = outer;
  return value;
}

/** The tag at the reader's position: its field number is `>>> 3`, its wire type `& 7`. */
export function tag(reader: Reader): number {
  const value = reader.uint32();
  // Field number 0 is no field (google-protobuf asserts on it).
  if (value >>> 3 === 0) throw new Malformed('field number 0');
  return value;
}

export function expect(wireType: number, wanted: number): void {
  if (wireType !== wanted) throw new Malformed(`wire type ${wireType} where ${wanted} belongs`);
}

export class Structured {
  most = '0';
  least = '0';
  getMostSignificantBits(): string {
    return this.most;
  }
  getLeastSignificantBits(): string {
    return this.least;
  }
}

export class Uuid {
  structured: Structured | undefined;
  text: string | undefined;
  hasStructured(): boolean {
    return this.structured !== undefined;
  }
  getStructured(): Structured | undefined {
    return this.structured;
  }
  hasString(): boolean {
    return this.text !== undefined;
  }
  getString(): string {
    return this.text ?? '';
  }
}

export class StreamIdentifier {
  constructor(readonly name: Uint8Array | string) {}
  getStreamName(): Uint8Array | string {
    return this.name;
  }
  getStreamName_asU8(): Uint8Array {
    return typeof this.name === 'string' ? EMPTY : this.name;
  }
}


export function readStructured(reader: Reader, end: number): Structured {
  const structured = new Structured();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    if (field === 1 || field === 2) {
      expect(wireType, 0);
      const value = reader.uint64String(true);
      if (field === 1) structured.most = value;
      else structured.least = value;
    } else reader.skip(wireType);
  }
  return structured;
}

export function readUuid(reader: Reader, end: number): Uuid {
  const uuid = new Uuid();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    if (field === 1) {
      expect(wireType, 2);
      const structured = within(reader, readStructured);
      // A oneof: the later field wins, as google-protobuf's setters clear the other.
      uuid.structured = structured;
      uuid.text = undefined;
    } else if (field === 2) {
      expect(wireType, 2);
      uuid.text = reader.string();
      uuid.structured = undefined;
    } else reader.skip(wireType);
  }
  return uuid;
}

export function readStreamIdentifier(reader: Reader, end: number): StreamIdentifier {
  let name: Uint8Array | string = '';
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    if (field === 3) {
      expect(wireType, 2);
      name = reader.bytesField();
    } else reader.skip(wireType);
  }
  return new StreamIdentifier(name);
}

/**
 * Reads a whole message with `read` (a reader of its fields up to `end`); undefined when it holds
 * what only google-protobuf should judge (read threw Malformed).
 */
export function decodeMessage<T>(input: Uint8Array, read: (reader: Reader, end: number) => T): T | undefined {
  // Bytes fields are views of the message: of a plain Uint8Array, as google-protobuf's are (a
  // Buffer's subarray would be a Buffer).
  const bytes = Object.getPrototypeOf(input) === Uint8Array.prototype ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  try {
    return read(new Reader(bytes, 0, bytes.length), bytes.length);
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}

export interface Deserializable {
  deserializeBinary(bytes: Uint8Array): unknown;
}

/**
 * A generated message class's `deserializeBinary` (google-protobuf's) with `decode` in front of
 * it: `fast` tries decode and hands google-protobuf what it leaves; `useFast` installs it on the
 * class, `useGoogle` puts google-protobuf's back (a benchmark's baseline, the tests' comparison).
 */
export function replaceableDecoder(target: Deserializable, decode: (bytes: Uint8Array) => unknown) {
  const google: (bytes: Uint8Array) => unknown = target.deserializeBinary.bind(target);
  const fast = (bytes: Uint8Array): unknown => decode(bytes) ?? google(bytes);
  return {
    google,
    fast,
    useFast(): void {
      target.deserializeBinary = fast;
    },
    useGoogle(): void {
      target.deserializeBinary = google;
    },
  };
}
