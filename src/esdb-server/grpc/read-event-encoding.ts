// Hand-written protobuf encoding of ReadResp{event} — the one message sent per event on reads
// and subscriptions. Building google-protobuf objects and serialising them costs several times
// more than the store read itself, so events are encoded straight into one Buffer. The field
// numbers are those of the client's streams.proto / shared.proto (see generated/streams_pb.js).
import type { RecordedEvent, ResolvedEvent } from '../log/types.js';

export const LENGTH_DELIMITED = 2;
export const VARINT = 0;
export const tag = (field: number, wireType: number) => (field << 3) | wireType;

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export class Encoder {
  private offset = 0;
  constructor(readonly buffer: Buffer) {}

  varint(value: number): this {
    while (value >= 0x80) {
      this.buffer[this.offset++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.offset++] = value;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint(tag(field, LENGTH_DELIMITED)).varint(value.byteLength);
    this.buffer.set(value, this.offset);
    this.offset += value.byteLength;
    return this;
  }

  string(field: number, value: string, byteLength: number): this {
    this.varint(tag(field, LENGTH_DELIMITED)).varint(byteLength);
    this.offset += this.buffer.write(value, this.offset, byteLength, 'utf8');
    return this;
  }

  header(field: number, length: number): this {
    return this.varint(tag(field, LENGTH_DELIMITED)).varint(length);
  }

  uint(field: number, value: number): this {
    // proto3 leaves zero values out, as google-protobuf does.
    if (value === 0) return this;
    return this.varint(tag(field, VARINT)).varint(value);
  }
}

export const fieldSize = (field: number, length: number) => varintSize(tag(field, LENGTH_DELIMITED)) + varintSize(length) + length;
const uintSize = (field: number, value: number) => (value === 0 ? 0 : varintSize(tag(field, VARINT)) + varintSize(value));

interface RecordedLayout {
  event: RecordedEvent;
  streamBytes: number;
  typeBytes: number;
  contentTypeBytes: number;
  created: string;
  uuidSize: number;
  streamIdSize: number;
  typeEntry: number;
  contentTypeEntry: number;
  createdEntry: number;
  size: number;
}

const entrySize = (keyBytes: number, valueBytes: number) => fieldSize(1, keyBytes) + fieldSize(2, valueBytes);

function layout(event: RecordedEvent): RecordedLayout {
  const streamBytes = Buffer.byteLength(event.stream);
  const typeBytes = Buffer.byteLength(event.type);
  const contentTypeBytes = Buffer.byteLength(event.contentType);
  const created = event.created.toString();
  const uuidSize = fieldSize(2, 36);
  const streamIdSize = fieldSize(3, streamBytes);
  const typeEntry = entrySize(4, typeBytes);
  const contentTypeEntry = entrySize(12, contentTypeBytes);
  const createdEntry = entrySize(7, created.length);
  const size =
    fieldSize(1, uuidSize) +
    fieldSize(2, streamIdSize) +
    uintSize(3, event.revision) +
    uintSize(4, event.position) +
    uintSize(5, event.position) +
    fieldSize(6, typeEntry) +
    fieldSize(6, contentTypeEntry) +
    fieldSize(6, createdEntry) +
    (event.metadata.byteLength > 0 ? fieldSize(7, event.metadata.byteLength) : 0) +
    (event.data.byteLength > 0 ? fieldSize(8, event.data.byteLength) : 0);
  return { event, streamBytes, typeBytes, contentTypeBytes, created, uuidSize, streamIdSize, typeEntry, contentTypeEntry, createdEntry, size };
}

function writeRecorded(encoder: Encoder, field: number, l: RecordedLayout): void {
  const { event } = l;
  encoder.header(field, l.size);
  encoder.header(1, l.uuidSize).string(2, event.id, 36);
  encoder.header(2, l.streamIdSize).string(3, event.stream, l.streamBytes);
  encoder.uint(3, event.revision).uint(4, event.position).uint(5, event.position);
  encoder.header(6, l.typeEntry).string(1, 'type', 4).string(2, event.type, l.typeBytes);
  encoder.header(6, l.contentTypeEntry).string(1, 'content-type', 12).string(2, event.contentType, l.contentTypeBytes);
  encoder.header(6, l.createdEntry).string(1, 'created', 7).string(2, l.created, l.created.length);
  if (event.metadata.byteLength > 0) encoder.bytes(7, event.metadata);
  if (event.data.byteLength > 0) encoder.bytes(8, event.data);
}

/**
 * ReadResp{ event: ReadEvent{ event, link, commit_position } } with UUIDs in string form. The
 * persistent-subscriptions ReadResp has the same fields plus retry_count (5), written when given.
 */
export function encodeEventResponse(resolved: ResolvedEvent, retryCount?: number): Buffer {
  const event = resolved.event ? layout(resolved.event) : undefined;
  const link = resolved.link ? layout(resolved.link) : undefined;
  const readEventSize =
    (event ? fieldSize(1, event.size) : 0) +
    (link ? fieldSize(2, link.size) : 0) +
    varintSize(tag(3, VARINT)) +
    varintSize(resolved.position) +
    (retryCount === undefined ? 0 : varintSize(tag(5, VARINT)) + varintSize(retryCount));
  const buffer = Buffer.allocUnsafe(fieldSize(1, readEventSize));
  const encoder = new Encoder(buffer);
  encoder.header(1, readEventSize);
  if (event) writeRecorded(encoder, 1, event);
  if (link) writeRecorded(encoder, 2, link);
  // commit_position is in a oneof, so it is written even when zero.
  encoder.varint(tag(3, VARINT)).varint(resolved.position);
  // retry_count is in a oneof too.
  if (retryCount !== undefined) encoder.varint(tag(5, VARINT)).varint(retryCount);
  return buffer;
}
