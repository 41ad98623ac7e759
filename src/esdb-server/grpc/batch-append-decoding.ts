// Hand-written decoding of the BatchAppendReq messages @eventstore/db-client sends (one per append,
// or per chunk of a large one): google-protobuf's reader and message objects cost more of the
// server's thread than the rest of taking the request (docs/benchmarks.md, "Throughput and read models"). Only the shape that
// client writes is decoded here: a correlation id and event ids as UUID strings, options with a
// stream name, one expected-revision choice and a deadline, proposed messages with ASCII metadata
// keys and values, is_final. Anything else (a structured UUID, an unknown or repeated field, an
// unexpected wire type, non-ASCII text, a varint past 2^53 where a number is read, a truncated
// message) returns undefined, and the caller decodes it with the classes as before, so both ways
// give the same request (test/unit/esdb-server/batch-append-decoding.unit.test.ts checks that
// against the classes on random messages and random bytes).
// Field numbers are those of the client's streams.proto / shared.proto (generated/streams_pb.js).
import { sharedPb } from './protocol.js';

type UuidMessage = InstanceType<typeof sharedPb.UUID>;

/** A UUID carried as its string: what parseUuid reads of it. */
class StringUuid {
  constructor(private readonly text: string) {}
  hasStructured(): boolean {
    return false;
  }
  getStructured(): undefined {
    return undefined;
  }
  hasString(): boolean {
    return true;
  }
  getString(): string {
    return this.text;
  }
}

class StreamIdentifier {
  constructor(private readonly name: Uint8Array) {}
  getStreamName_asU8(): Uint8Array {
    return this.name;
  }
}

type Expected = { kind: 'position'; value: string } | { kind: 'no_stream' | 'any' | 'stream_exists' } | undefined;

class Options {
  constructor(
    private readonly identifier: StreamIdentifier | undefined,
    private readonly expected: Expected,
    private readonly deadlineMs: number | undefined,
  ) {}
  getStreamIdentifier(): StreamIdentifier | undefined {
    return this.identifier;
  }
  hasStreamPosition(): boolean {
    return this.expected?.kind === 'position';
  }
  getStreamPosition(): string {
    return this.expected?.kind === 'position' ? this.expected.value : '0';
  }
  hasNoStream(): boolean {
    return this.expected?.kind === 'no_stream';
  }
  hasAny(): boolean {
    return this.expected?.kind === 'any';
  }
  hasStreamExists(): boolean {
    return this.expected?.kind === 'stream_exists';
  }
  getDeadline(): { toDate(): Date } | undefined {
    const ms = this.deadlineMs;
    return ms === undefined ? undefined : { toDate: () => new Date(ms) };
  }
}

const EMPTY = new Uint8Array(0);

class ProposedMessage {
  constructor(
    private readonly id: StringUuid | undefined,
    private readonly metadata: Map<string, string>,
    private readonly customMetadata: Uint8Array,
    private readonly data: Uint8Array,
  ) {}
  getId(): UuidMessage | undefined {
    return this.id as unknown as UuidMessage | undefined;
  }
  getMetadataMap(): { get(key: string): string | undefined } {
    return this.metadata;
  }
  getCustomMetadata_asU8(): Uint8Array {
    return this.customMetadata;
  }
  getData_asU8(): Uint8Array {
    return this.data;
  }
}

/** What batch-append.ts reads of a request: the methods of the class's message it calls. */
export class DecodedBatchAppendReq {
  constructor(
    private readonly correlationId: string | undefined,
    private readonly options: Options | undefined,
    private readonly proposed: ProposedMessage[],
    private readonly isFinal: boolean,
  ) {}
  /** A message of the class: replies echo it (batch-append.ts sets it on theirs). */
  getCorrelationId(): UuidMessage | undefined {
    return this.correlationId === undefined ? undefined : new sharedPb.UUID().setString(this.correlationId);
  }
  hasOptions(): boolean {
    return this.options !== undefined;
  }
  getOptions(): Options | undefined {
    return this.options;
  }
  getProposedMessagesList(): ProposedMessage[] {
    return this.proposed;
  }
  getIsFinal(): boolean {
    return this.isFinal;
  }
}

const VARINT = 0;
const LEN = 2;

/** Not the shape handled here: the classes decode it. */
class Unhandled extends Error {}
const UNHANDLED = new Unhandled();

class Reader {
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.offset = start;
  }
  done(): boolean {
    return this.offset >= this.end;
  }
  /** A varint up to 2^53 - 1 (anything longer or larger: unhandled). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.end) throw UNHANDLED;
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw UNHANDLED;
        return value;
      }
      scale *= 128;
    }
    throw UNHANDLED;
  }
  /** The bounds of a length-delimited field's content. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.offset;
    const end = start + length;
    if (end > this.end) throw UNHANDLED;
    this.offset = end;
    return [start, end];
  }
  /** ASCII text only (google-protobuf's UTF-8 decoding of anything else is left to it). */
  ascii(): string {
    const [start, end] = this.span();
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = this.bytes[i]!;
      if (byte >= 0x80) throw UNHANDLED;
      text += String.fromCharCode(byte);
    }
    return text;
  }
  bytesView(): Uint8Array {
    const [start, end] = this.span();
    return this.bytes.subarray(start, end);
  }
  /** A tag: [field, wire type]. */
  tag(): [number, number] {
    const tag = this.varint();
    return [Math.floor(tag / 8), tag % 8];
  }
  nested(): Reader {
    const [start, end] = this.span();
    return new Reader(this.bytes, start, end);
  }
}

/** The request, or undefined when it is not the shape handled here (decode it with the classes). */
export function decodeBatchAppendReq(bytes: Uint8Array): DecodedBatchAppendReq | undefined {
  try {
    return readRequest(new Reader(bytes, 0, bytes.length));
  } catch (error) {
    if (error instanceof Unhandled) return undefined;
    throw error;
  }
}

function readRequest(reader: Reader): DecodedBatchAppendReq {
  let correlationId: string | undefined;
  let options: Options | undefined;
  const proposed: ProposedMessage[] = [];
  let isFinal: boolean | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === LEN && correlationId === undefined) correlationId = readStringUuid(reader.nested());
    else if (field === 2 && wire === LEN && options === undefined) options = readOptions(reader.nested());
    else if (field === 3 && wire === LEN) proposed.push(readProposed(reader.nested()));
    else if (field === 4 && wire === VARINT && isFinal === undefined) isFinal = reader.varint() !== 0;
    else throw UNHANDLED;
  }
  return new DecodedBatchAppendReq(correlationId, options, proposed, isFinal ?? false);
}

/** UUID { string value = 2 } and nothing else. */
function readStringUuid(reader: Reader): string {
  let text: string | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 2 && wire === LEN && text === undefined) text = reader.ascii();
    else throw UNHANDLED;
  }
  // An empty UUID message: its oneof unset (the classes' getString() answers '').
  if (text === undefined) throw UNHANDLED;
  return text;
}

function readOptions(reader: Reader): Options {
  let identifier: StreamIdentifier | undefined;
  let expected: Expected;
  let deadlineMs: number | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === LEN && identifier === undefined) identifier = readIdentifier(reader.nested());
    else if (field === 2 && wire === VARINT && expected === undefined) expected = { kind: 'position', value: String(reader.varint()) };
    else if (field >= 3 && field <= 5 && wire === LEN && expected === undefined) {
      if (!reader.nested().done()) throw UNHANDLED;
      expected = { kind: field === 3 ? 'no_stream' : field === 4 ? 'any' : 'stream_exists' };
    } else if (field === 6 && wire === LEN && deadlineMs === undefined) deadlineMs = readTimestamp(reader.nested());
    else throw UNHANDLED;
  }
  return new Options(identifier, expected, deadlineMs);
}

/** StreamIdentifier { bytes stream_name = 3 }. */
function readIdentifier(reader: Reader): StreamIdentifier {
  let name: Uint8Array | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 3 && wire === LEN && name === undefined) name = reader.bytesView();
    else throw UNHANDLED;
  }
  return new StreamIdentifier(name ?? EMPTY);
}

/** google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2 }, non-negative, as Timestamp.toDate() reads it. */
function readTimestamp(reader: Reader): number {
  let seconds: number | undefined;
  let nanos: number | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === VARINT && seconds === undefined) seconds = reader.varint();
    else if (field === 2 && wire === VARINT && nanos === undefined) nanos = reader.varint();
    else throw UNHANDLED;
  }
  // Past these, the classes' int64 / int32 readings and Date's range differ from plain numbers.
  if ((seconds ?? 0) > 8_640_000_000_000 || (nanos ?? 0) > 0x7fffffff) throw UNHANDLED;
  return (seconds ?? 0) * 1000 + (nanos ?? 0) / 1_000_000;
}

function readProposed(reader: Reader): ProposedMessage {
  let id: StringUuid | undefined;
  const metadata = new Map<string, string>();
  let customMetadata: Uint8Array | undefined;
  let data: Uint8Array | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === LEN && id === undefined) id = new StringUuid(readStringUuid(reader.nested()));
    else if (field === 2 && wire === LEN) {
      const [key, value] = readMapEntry(reader.nested());
      if (metadata.has(key)) throw UNHANDLED;
      metadata.set(key, value);
    } else if (field === 3 && wire === LEN && customMetadata === undefined) customMetadata = reader.bytesView();
    else if (field === 4 && wire === LEN && data === undefined) data = reader.bytesView();
    else throw UNHANDLED;
  }
  return new ProposedMessage(id, metadata, customMetadata ?? EMPTY, data ?? EMPTY);
}

/** map<string, string> entry { key = 1; value = 2 }, both present once. */
function readMapEntry(reader: Reader): [string, string] {
  let key: string | undefined;
  let value: string | undefined;
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === LEN && key === undefined) key = reader.ascii();
    else if (field === 2 && wire === LEN && value === undefined) value = reader.ascii();
    else throw UNHANDLED;
  }
  if (key === undefined || value === undefined) throw UNHANDLED;
  return [key, value];
}
