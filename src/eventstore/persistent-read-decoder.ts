// @eventstore/db-client decodes every message a persistent subscription delivers with
// google-protobuf (`ReadResp.deserializeBinary`, generated/persistent_pb.js): a BinaryReader in
// JavaScript, and a jspb message object for the response, its ReadEvent, the RecordedEvent, its
// UUID, its StreamIdentifier and each entry of its metadata map (a jspb.Map of sub-messages).
// In `npm start` that decoding was most of the client's share of the main thread (~200 µs of a
// command's ~2.4 ms in CPU profiles of the lifecycle load: 3.67 deliveries a command).
//
// This replaces that one static function, on the instance of the generated module the client's
// service definition calls, with a decoder of the same bytes into small objects that answer the
// getters the client reads (PersistentSubscriptionImpl's `_transform`, `convertGrpcEvent`,
// `parseUUID`), with google-protobuf's values and defaults: uint64 and int64 as decimal strings,
// bytes as views of the message, strings as UTF-8. test/unit/eventstore/persistent-read-decoder
// compares what the client makes of both decodings, field by field and for every shape of the
// message; anything this decoder does not expect (a group, a wire type at odds with its field,
// a truncated message) goes to google-protobuf's own decoder, which then decides. It decodes a
// real EventStoreDB's answers as the embedded store's: the wire is the same.
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';

interface Deserializable {
  deserializeBinary(bytes: Uint8Array): unknown;
}

const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const persistentPb = clientRequire('../generated/persistent_pb.js') as { ReadResp: Deserializable };

/** google-protobuf's decoder, as it was before install. */
export const googleReadResp: (bytes: Uint8Array) => unknown = persistentPb.ReadResp.deserializeBinary.bind(persistentPb.ReadResp);

const EMPTY = new Uint8Array(0);
const TWO_32 = 4_294_967_296;

class Malformed extends Error {}

/** A cursor over one message's bytes. */
class Reader {
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
function within<T>(reader: Reader, read: (reader: Reader, end: number) => T): T {
  const stop = reader.delimited();
  const outer = reader.end;
  reader.end = stop;
  const value = read(reader, stop);
  reader.end = outer;
  return value;
}

/** The tag at the reader's position: its field number is `>>> 3`, its wire type `& 7`. */
function tag(reader: Reader): number {
  const value = reader.uint32();
  // Field number 0 is no field (google-protobuf asserts on it).
  if (value >>> 3 === 0) throw new Malformed('field number 0');
  return value;
}

function expect(wireType: number, wanted: number): void {
  if (wireType !== wanted) throw new Malformed(`wire type ${wireType} where ${wanted} belongs`);
}

class Structured {
  most = '0';
  least = '0';
  getMostSignificantBits(): string {
    return this.most;
  }
  getLeastSignificantBits(): string {
    return this.least;
  }
}

class Uuid {
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

class StreamIdentifier {
  constructor(readonly name: Uint8Array | string) {}
  getStreamName(): Uint8Array | string {
    return this.name;
  }
  getStreamName_asU8(): Uint8Array {
    return typeof this.name === 'string' ? EMPTY : this.name;
  }
}

class RecordedEvent {
  id: Uuid | undefined;
  stream: StreamIdentifier | undefined;
  streamRevision = '0';
  preparePosition = '0';
  commitPosition = '0';
  readonly metadata = new Map<string, string>();
  customMetadata: Uint8Array = EMPTY;
  data: Uint8Array | string = '';
  hasId(): boolean {
    return this.id !== undefined;
  }
  getId(): Uuid | undefined {
    return this.id;
  }
  hasStreamIdentifier(): boolean {
    return this.stream !== undefined;
  }
  getStreamIdentifier(): StreamIdentifier | undefined {
    return this.stream;
  }
  getStreamRevision(): string {
    return this.streamRevision;
  }
  getPreparePosition(): string {
    return this.preparePosition;
  }
  getCommitPosition(): string {
    return this.commitPosition;
  }
  getMetadataMap(): Map<string, string> {
    return this.metadata;
  }
  getCustomMetadata(): Uint8Array {
    return this.customMetadata;
  }
  getCustomMetadata_asU8(): Uint8Array {
    return this.customMetadata;
  }
  getData(): Uint8Array | string {
    return this.data;
  }
  getData_asU8(): Uint8Array {
    return typeof this.data === 'string' ? EMPTY : this.data;
  }
}

class ReadEvent {
  event: RecordedEvent | undefined;
  link: RecordedEvent | undefined;
  commitPosition: string | undefined;
  noPosition = false;
  retryCount: number | undefined;
  noRetryCount = false;
  hasEvent(): boolean {
    return this.event !== undefined;
  }
  getEvent(): RecordedEvent | undefined {
    return this.event;
  }
  hasLink(): boolean {
    return this.link !== undefined;
  }
  getLink(): RecordedEvent | undefined {
    return this.link;
  }
  hasCommitPosition(): boolean {
    return this.commitPosition !== undefined;
  }
  getCommitPosition(): string {
    return this.commitPosition ?? '0';
  }
  hasNoPosition(): boolean {
    return this.noPosition;
  }
  hasRetryCount(): boolean {
    return this.retryCount !== undefined;
  }
  getRetryCount(): number {
    return this.retryCount ?? 0;
  }
  hasNoRetryCount(): boolean {
    return this.noRetryCount;
  }
}

class SubscriptionConfirmation {
  constructor(readonly id: string) {}
  getSubscriptionId(): string {
    return this.id;
  }
}

/** What `ReadResp.deserializeBinary` returns, as far as the client reads it. */
export class FastReadResp {
  event: ReadEvent | undefined;
  confirmation: SubscriptionConfirmation | undefined;
  hasEvent(): boolean {
    return this.event !== undefined;
  }
  getEvent(): ReadEvent | undefined {
    return this.event;
  }
  hasSubscriptionConfirmation(): boolean {
    return this.confirmation !== undefined;
  }
  getSubscriptionConfirmation(): SubscriptionConfirmation | undefined {
    return this.confirmation;
  }
}

function readStructured(reader: Reader, end: number): Structured {
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

function readUuid(reader: Reader, end: number): Uuid {
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

function readStreamIdentifier(reader: Reader, end: number): StreamIdentifier {
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

function readMapEntry(reader: Reader, end: number, into: Map<string, string>): void {
  let key = '';
  let value = '';
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    if (field === 1) {
      expect(wireType, 2);
      key = reader.string();
    } else if (field === 2) {
      expect(wireType, 2);
      value = reader.string();
      // google-protobuf does not skip other fields of a map entry: it reads their bytes as tags.
    } else throw new Malformed(`field ${field} in a map entry`);
  }
  into.set(key, value);
}

function readRecordedEvent(reader: Reader, end: number): RecordedEvent {
  const recorded = new RecordedEvent();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    switch (field) {
      case 1: {
        expect(wireType, 2);
        recorded.id = within(reader, readUuid);
        break;
      }
      case 2: {
        expect(wireType, 2);
        recorded.stream = within(reader, readStreamIdentifier);
        break;
      }
      case 3:
        expect(wireType, 0);
        recorded.streamRevision = reader.uint64String();
        break;
      case 4:
        expect(wireType, 0);
        recorded.preparePosition = reader.uint64String();
        break;
      case 5:
        expect(wireType, 0);
        recorded.commitPosition = reader.uint64String();
        break;
      case 6: {
        expect(wireType, 2);
        within(reader, (inner, stop) => readMapEntry(inner, stop, recorded.metadata));
        break;
      }
      case 7:
        expect(wireType, 2);
        recorded.customMetadata = reader.bytesField();
        break;
      case 8:
        expect(wireType, 2);
        recorded.data = reader.bytesField();
        break;
      default:
        reader.skip(wireType);
    }
  }
  return recorded;
}

function readEvent(reader: Reader, end: number): ReadEvent {
  const event = new ReadEvent();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    switch (field) {
      case 1:
      case 2: {
        expect(wireType, 2);
        const recorded = within(reader, readRecordedEvent);
        if (field === 1) event.event = recorded;
        else event.link = recorded;
        break;
      }
      case 3:
        expect(wireType, 0);
        event.commitPosition = reader.uint64String();
        event.noPosition = false;
        break;
      case 4:
        expect(wireType, 2);
        reader.pos = reader.delimited();
        event.noPosition = true;
        event.commitPosition = undefined;
        break;
      case 5:
        expect(wireType, 0);
        event.retryCount = reader.int32();
        event.noRetryCount = false;
        break;
      case 6:
        expect(wireType, 2);
        reader.pos = reader.delimited();
        event.noRetryCount = true;
        event.retryCount = undefined;
        break;
      default:
        reader.skip(wireType);
    }
  }
  return event;
}

function readConfirmation(reader: Reader, end: number): SubscriptionConfirmation {
  let id = '';
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    if (field === 1) {
      expect(wireType, 2);
      id = reader.string();
    } else reader.skip(wireType);
  }
  return new SubscriptionConfirmation(id);
}

/** Decodes a ReadResp; undefined when it holds what only google-protobuf should judge. */
export function decodeReadResp(input: Uint8Array): FastReadResp | undefined {
  // Bytes fields are views of the message: of a plain Uint8Array, as google-protobuf's are (a
  // Buffer's subarray would be a Buffer).
  const bytes = Object.getPrototypeOf(input) === Uint8Array.prototype ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const reader = new Reader(bytes, 0, bytes.length);
  const resp = new FastReadResp();
  try {
    while (reader.pos < bytes.length) {
      const tagged = tag(reader);
      const field = tagged >>> 3;
      const wireType = tagged & 7;
      if (field === 1) {
        expect(wireType, 2);
        resp.event = within(reader, readEvent);
        resp.confirmation = undefined;
      } else if (field === 2) {
        expect(wireType, 2);
        resp.confirmation = within(reader, readConfirmation);
        resp.event = undefined;
      } else reader.skip(wireType);
    }
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
  return resp;
}

/** ReadResp.deserializeBinary through decodeReadResp, google-protobuf's for what that leaves. */
export function fastReadResp(bytes: Uint8Array): unknown {
  return decodeReadResp(bytes) ?? googleReadResp(bytes);
}

/** Installs fastReadResp as the client's ReadResp decoder (idempotent). */
export function useFastPersistentReadDecoder(): void {
  persistentPb.ReadResp.deserializeBinary = fastReadResp;
}

/** Puts google-protobuf's decoder back (the benchmark's baseline, the tests' comparison). */
export function useGooglePersistentReadDecoder(): void {
  persistentPb.ReadResp.deserializeBinary = googleReadResp;
}
