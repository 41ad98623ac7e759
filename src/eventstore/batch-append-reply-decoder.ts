// Every append of @eventstore/db-client (its batchAppend, dist/streams/appendToStream) ends with
// the store's BatchAppendResp decoded by google-protobuf: a BinaryReader in JavaScript and jspb
// messages for the reply, its UUID, its Success, its position and its stream identifier, ~3.8 µs a
// reply in a loop (bench/batch-append-codec.bench.ts) and 1.9% of the `npm start` main thread in
// CPU profiles, where it runs colder.
//
// This replaces that one static function, on the instance of the generated module the client's
// service definition calls, with a decoder of the same bytes into small objects that answer the
// getters the client reads (batchAppend's `data` handler, parseUUID) with google-protobuf's values
// and defaults. test/unit/eventstore/batch-append-codec.unit.test.ts compares both decodings getter
// by getter; a reply that carries an error (the client unpacks its details) or is malformed goes
// to google-protobuf's decoder. The wire is the same for a real EventStoreDB as for the embedded one.
//
// Tried, not kept: an encoder of the requests of our own (the same bytes in one pass into one
// buffer). A request of two events took 11.3 µs against google-protobuf's 14.8, and each proposed
// event serialized for its size as long as before: the time goes into the jspb getters and
// wrappers both encoders must read, not into the writing.
import { createRequire } from 'node:module';
import { decodeMessage, expect, Malformed, Reader, readStreamIdentifier, readUuid, type StreamIdentifier, tag, type Uuid, within, replaceableDecoder, type Deserializable } from './protobuf-wire.js';

const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const streamsPb = clientRequire('../generated/streams_pb.js') as { BatchAppendResp: Deserializable };


class AllStreamPosition {
  commit = '0';
  prepare = '0';
  getCommitPosition(): string {
    return this.commit;
  }
  getPreparePosition(): string {
    return this.prepare;
  }
}

class Success {
  currentRevision: string | undefined;
  noStream = false;
  position: AllStreamPosition | undefined;
  noPosition = false;
  hasCurrentRevision(): boolean {
    return this.currentRevision !== undefined;
  }
  getCurrentRevision(): string {
    return this.currentRevision ?? '0';
  }
  hasNoStream(): boolean {
    return this.noStream;
  }
  hasPosition(): boolean {
    return this.position !== undefined;
  }
  getPosition(): AllStreamPosition | undefined {
    return this.position;
  }
  hasNoPosition(): boolean {
    return this.noPosition;
  }
}

/** What `BatchAppendResp.deserializeBinary` returns for a success, as far as the client reads it. */
export class FastBatchAppendResp {
  correlation: Uuid | undefined;
  success: Success | undefined;
  stream: StreamIdentifier | undefined;
  streamPosition: string | undefined;
  hasCorrelationId(): boolean {
    return this.correlation !== undefined;
  }
  getCorrelationId(): Uuid | undefined {
    return this.correlation;
  }
  /** A reply with an error is google-protobuf's to decode. */
  hasError(): boolean {
    return false;
  }
  getError(): undefined {
    return undefined;
  }
  hasSuccess(): boolean {
    return this.success !== undefined;
  }
  getSuccess(): Success | undefined {
    return this.success;
  }
  hasStreamIdentifier(): boolean {
    return this.stream !== undefined;
  }
  getStreamIdentifier(): StreamIdentifier | undefined {
    return this.stream;
  }
  hasStreamPosition(): boolean {
    return this.streamPosition !== undefined;
  }
  getStreamPosition(): string {
    return this.streamPosition ?? '0';
  }
}

function readPosition(reader: Reader, end: number): AllStreamPosition {
  const position = new AllStreamPosition();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    if (field === 1 || field === 2) {
      expect(wireType, 0);
      const value = reader.uint64String();
      if (field === 1) position.commit = value;
      else position.prepare = value;
    } else reader.skip(wireType);
  }
  return position;
}

function readSuccess(reader: Reader, end: number): Success {
  const success = new Success();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    switch (field) {
      case 1:
        expect(wireType, 0);
        success.currentRevision = reader.uint64String();
        success.noStream = false;
        break;
      case 2:
        expect(wireType, 2);
        reader.pos = reader.delimited();
        success.noStream = true;
        success.currentRevision = undefined;
        break;
      case 3:
        expect(wireType, 2);
        success.position = within(reader, readPosition);
        success.noPosition = false;
        break;
      case 4:
        expect(wireType, 2);
        reader.pos = reader.delimited();
        success.noPosition = true;
        success.position = undefined;
        break;
      default:
        reader.skip(wireType);
    }
  }
  return success;
}

/** Decodes a BatchAppendResp; undefined when it holds what only google-protobuf should judge (an error, a malformed message). */
export function decodeBatchAppendResp(input: Uint8Array): FastBatchAppendResp | undefined {
  return decodeMessage(input, readResp);
}

function readResp(reader: Reader, end: number): FastBatchAppendResp {
  const resp = new FastBatchAppendResp();
  while (reader.pos < end) {
    const tagged = tag(reader);
    const field = tagged >>> 3;
    const wireType = tagged & 7;
    switch (field) {
      case 1:
        expect(wireType, 2);
        resp.correlation = within(reader, readUuid);
        break;
      case 2:
        throw new Malformed('an error reply: google-protobuf decodes its details');
      case 3:
        expect(wireType, 2);
        resp.success = within(reader, readSuccess);
        break;
      case 4:
        expect(wireType, 2);
        resp.stream = within(reader, readStreamIdentifier);
        break;
      case 5:
        expect(wireType, 0);
        resp.streamPosition = reader.uint64String();
        break;
      case 6:
      case 7:
      case 8:
        // The other cases of the expected position's oneof: the client reads none of them.
        expect(wireType, 2);
        reader.pos = reader.delimited();
        resp.streamPosition = undefined;
        break;
      default:
        reader.skip(wireType);
    }
  }
  return resp;
}

const decoder = replaceableDecoder(streamsPb.BatchAppendResp, (bytes) => decodeBatchAppendResp(bytes));
/** google-protobuf's decoder, as it was before install. */
export const googleBatchAppendResp = decoder.google;
/** BatchAppendResp.deserializeBinary through decodeBatchAppendResp, google-protobuf's for what that leaves. */
export const fastBatchAppendResp = decoder.fast;
/** Installs fastBatchAppendResp as the client's BatchAppendResp decoder (idempotent). */
export const useFastBatchAppendReplyDecoder = decoder.useFast;
/** Puts google-protobuf's decoder back (the benchmark's baseline, the tests' comparison). */
export const useGoogleBatchAppendReplyDecoder = decoder.useGoogle;
