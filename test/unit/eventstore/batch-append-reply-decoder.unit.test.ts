// The appends' reply decoder (src/eventstore/batch-append-reply-decoder.ts) against
// google-protobuf's: for any reply the client can be sent, every getter the client reads answers
// the same (and so does the client's own reading of it, parseUUID); an error reply and broken
// bytes are answered by google-protobuf.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeBatchAppendResp,
  fastBatchAppendResp,
  googleBatchAppendResp,
  useFastBatchAppendReplyDecoder,
  useGoogleBatchAppendReplyDecoder,
} from '../../../src/eventstore/batch-append-reply-decoder.js';

const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
/* eslint-disable @typescript-eslint/no-explicit-any -- google-protobuf's generated classes are untyped here */
const streamsPb = clientRequire('../generated/streams_pb.js') as any;
const sharedPb = clientRequire('../generated/shared_pb.js') as any;
const { Status } = clientRequire('../generated/status_pb.js') as any;
const { parseUUID } = clientRequire('./utils/grpcUUID.js') as { parseUUID(uuid: unknown): string | undefined };
const { BatchAppendResp } = streamsPb;

const u64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 53n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('order-t1-o-1', 'ü→✓', '😀'));

function uuidOf(value: { text: string } | { most: bigint; least: bigint }) {
  const uuid = new sharedPb.UUID();
  if ('text' in value) uuid.setString(value.text);
  else {
    const structured = new sharedPb.UUID.Structured();
    structured.setMostSignificantBits(value.most.toString());
    structured.setLeastSignificantBits(value.least.toString());
    uuid.setStructured(structured);
  }
  return uuid;
}
const uuid = fc.oneof(
  { weight: 8, arbitrary: fc.uuid().map((value) => ({ text: value })) },
  { weight: 1, arbitrary: text.map((value) => ({ text: value })) },
  { weight: 1, arbitrary: fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([most, least]) => ({ most, least })) },
);

const reply = fc
  .record(
    {
      correlation: uuid,
      result: fc.oneof(
        fc
          .record(
            {
              revision: fc.oneof(u64.map((value) => ({ value })), fc.constant('no_stream' as const)),
              position: fc.oneof(fc.tuple(u64, u64).map(([commit, prepare]) => ({ commit, prepare })), fc.constant('no_position' as const)),
            },
            { requiredKeys: [] },
          )
          .map((fields) => ({ success: fields })),
        fc.record({ code: fc.integer({ min: 0, max: 16 }), message: text }).map((error) => ({ error })),
      ),
      stream: text,
      expected: fc.oneof(u64.map((revision) => ({ revision })), fc.constantFrom('no_stream', 'any', 'stream_exists')),
    },
    { requiredKeys: [] },
  )
  .map((fields) => {
    const resp = new BatchAppendResp();
    if (fields.correlation) resp.setCorrelationId(uuidOf(fields.correlation));
    if (fields.result && 'success' in fields.result) {
      const success = new BatchAppendResp.Success();
      const { revision, position } = fields.result.success;
      if (revision === 'no_stream') success.setNoStream(new sharedPb.Empty());
      else if (revision) success.setCurrentRevision(revision.value.toString());
      if (position === 'no_position') success.setNoPosition(new sharedPb.Empty());
      else if (position) {
        const all = new sharedPb.AllStreamPosition();
        all.setCommitPosition(position.commit.toString());
        all.setPreparePosition(position.prepare.toString());
        success.setPosition(all);
      }
      resp.setSuccess(success);
    } else if (fields.result) {
      const status = new Status();
      status.setCode(fields.result.error.code);
      status.setMessage(fields.result.error.message);
      resp.setError(status);
    }
    if (fields.stream !== undefined) {
      const identifier = new sharedPb.StreamIdentifier();
      identifier.setStreamName(Buffer.from(fields.stream));
      resp.setStreamIdentifier(identifier);
    }
    const expected = fields.expected;
    if (typeof expected === 'object') resp.setStreamPosition(expected.revision.toString());
    else if (expected === 'no_stream') resp.setNoStream(new sharedPb.Empty());
    else if (expected === 'any') resp.setAny(new sharedPb.Empty());
    else if (expected === 'stream_exists') resp.setStreamExists(new sharedPb.Empty());
    return resp.serializeBinary() as Uint8Array;
  });

/** Every getter of a reply the client reads (batchAppend's `data` handler), as plain data. */
function view(resp: any): unknown {
  const success = resp.getSuccess();
  const position = success?.getPosition();
  const stream = resp.getStreamIdentifier();
  return {
    correlationId: parseUUID(resp.getCorrelationId()),
    hasError: resp.hasError(),
    error: resp.hasError() ? [resp.getError().getCode(), resp.getError().getMessage()] : undefined,
    hasSuccess: resp.hasSuccess(),
    currentRevision: success?.getCurrentRevision(),
    position: position && [position.getCommitPosition(), position.getPreparePosition()],
    streamName: stream && Buffer.from(stream.getStreamName()).toString('hex'),
    streamPosition: resp.hasStreamPosition() ? resp.getStreamPosition() : undefined,
  };
}

function outcome(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return { decoded: view(decode(bytes)) };
  } catch (error) {
    return { threw: String((error as Error)?.message ?? error) };
  }
}

describe("the appends' BatchAppendResp decoder", () => {
  it('answers every getter the client reads as google-protobuf does; an error reply is decoded by google-protobuf', () => {
    fc.assert(
      fc.property(reply, (bytes) => {
        const google = googleBatchAppendResp(bytes) as any;
        const fast = decodeBatchAppendResp(bytes);
        if (google.hasError()) {
          expect(fast).toBeUndefined();
          expect(fastBatchAppendResp(bytes)).toBeInstanceOf(BatchAppendResp);
        } else expect(fast, 'decoded without falling back').toBeDefined();
        expect(outcome(fastBatchAppendResp, bytes)).toEqual(outcome(googleBatchAppendResp, bytes));
      }),
      { numRuns: 1_500 },
    );
  });

  it('answers broken bytes as google-protobuf does: its result or its error', () => {
    fc.assert(
      fc.property(reply, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (bytes, at, byte, truncate) => {
        if (bytes.length === 0) return;
        const broken = Uint8Array.from(bytes);
        const index = at % broken.length;
        const damaged = truncate ? broken.subarray(0, index) : (broken.set([byte], index), broken);
        expect(outcome(fastBatchAppendResp, damaged)).toEqual(outcome(googleBatchAppendResp, damaged));
      }),
      { numRuns: 1_000 },
    );
  });

  describe('installed', () => {
    beforeAll(() => useFastBatchAppendReplyDecoder());
    afterAll(() => useGoogleBatchAppendReplyDecoder());

    it("is what the client's generated BatchAppendResp decodes with", () => {
      fc.assert(
        fc.property(reply, (bytes) => {
          expect(outcome((input) => BatchAppendResp.deserializeBinary(input), bytes)).toEqual(outcome(googleBatchAppendResp, bytes));
          if (!(googleBatchAppendResp(bytes) as any).hasError()) expect(BatchAppendResp.deserializeBinary(bytes)).not.toBeInstanceOf(BatchAppendResp);
        }),
        { numRuns: 300 },
      );
    });
  });
});
