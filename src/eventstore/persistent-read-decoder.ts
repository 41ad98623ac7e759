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
import { createRequire } from 'node:module';
import { decodeMessage, EMPTY, expect, Malformed, Reader, readStreamIdentifier, readUuid, StreamIdentifier, tag, Uuid, within, replaceableDecoder, type Deserializable } from './protobuf-wire.js';

const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const persistentPb = clientRequire('../generated/persistent_pb.js') as { ReadResp: Deserializable };

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
  return decodeMessage(input, readResp);
}

function readResp(reader: Reader, end: number): FastReadResp {
  const resp = new FastReadResp();
  while (reader.pos < end) {
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
  return resp;
}

const decoder = replaceableDecoder(persistentPb.ReadResp, (bytes) => decodeReadResp(bytes));
/** google-protobuf's decoder, as it was before install. */
export const googleReadResp = decoder.google;
/** ReadResp.deserializeBinary through decodeReadResp, google-protobuf's for what that leaves. */
export const fastReadResp = decoder.fast;
/** Installs fastReadResp as the client's ReadResp decoder (idempotent). */
export const useFastPersistentReadDecoder = decoder.useFast;
/** Puts google-protobuf's decoder back (the benchmark's baseline, the tests' comparison). */
export const useGooglePersistentReadDecoder = decoder.useGoogle;
