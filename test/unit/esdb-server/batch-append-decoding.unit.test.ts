// The hand decoder of BatchAppend requests against the client's own message classes: for the
// requests @eventstore/db-client sends it gives what the classes give (every getter the server's
// BatchAppend handler reads), for others it declines (the classes decode them), and for random
// bytes it never accepts what the classes would decode differently or refuse.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sharedPb, streamsPb } from '../../../src/esdb-server/grpc/protocol.js';
import { decodeBatchAppendReq } from '../../../src/esdb-server/grpc/batch-append-decoding.js';

type Request = InstanceType<typeof streamsPb.BatchAppendReq>;
const requireFromGenerated = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client/generated/streams_pb.js'));
const { Timestamp } = requireFromGenerated('google-protobuf/google/protobuf/timestamp_pb.js') as { Timestamp: { fromDate(date: Date): unknown; new (): { setSeconds(s: number): unknown; setNanos(n: number): unknown } } };
const { Empty } = requireFromGenerated('google-protobuf/google/protobuf/empty_pb.js') as { Empty: new () => unknown };

interface UuidLike {
  hasStructured(): boolean;
  getString(): string;
  getStructured(): { getMostSignificantBits(): unknown; getLeastSignificantBits(): unknown } | undefined;
}

function uuidView(uuid: UuidLike | undefined) {
  if (!uuid) return undefined;
  const structured = uuid.hasStructured() ? uuid.getStructured() : undefined;
  return { structured: structured ? [String(structured.getMostSignificantBits()), String(structured.getLeastSignificantBits())] : undefined, string: uuid.getString() };
}

/** Everything batch-append.ts and toProposedEvent read of a request. */
function view(request: Request) {
  const options = request.hasOptions() ? request.getOptions()! : undefined;
  return {
    correlationId: uuidView(request.getCorrelationId() as UuidLike | undefined),
    options: options && {
      name: options.getStreamIdentifier() ? Buffer.from(options.getStreamIdentifier()!.getStreamName_asU8()).toString('hex') : undefined,
      position: options.hasStreamPosition() ? options.getStreamPosition() : undefined,
      noStream: options.hasNoStream(),
      streamExists: options.hasStreamExists(),
      deadline: options.getDeadline()?.toDate().getTime(),
    },
    proposed: request.getProposedMessagesList().map((message) => {
      const map = message.getMetadataMap() as unknown as { getEntryList?(): [string, string][] } & Map<string, string>;
      return {
        id: uuidView(message.getId() as UuidLike | undefined),
        metadata: (map.getEntryList ? map.getEntryList() : [...map.entries()]).map(([key, value]) => `${key}=${value}`).sort(),
        type: message.getMetadataMap().get('type'),
        contentType: message.getMetadataMap().get('content-type'),
        data: Buffer.from(message.getData_asU8()).toString('hex'),
        customMetadata: Buffer.from(message.getCustomMetadata_asU8()).toString('hex'),
      };
    }),
    isFinal: request.getIsFinal(),
  };
}

const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });
const text = fc.oneof(ascii, fc.string({ unit: 'binary', maxLength: 20 }));
const uuidText = fc.uuid();
const bytes = fc.uint8Array({ maxLength: 64 });

const uuidMessage = (structured: boolean) =>
  structured
    ? fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([most, least]) =>
        new sharedPb.UUID().setStructured(new sharedPb.UUID.Structured().setMostSignificantBits(most.toString()).setLeastSignificantBits(least.toString())),
      )
    : fc.oneof(uuidText, ascii).map((value) => new sharedPb.UUID().setString(value));

/** Always there in the client's shape; sometimes absent otherwise. */
const present = <T,>(arbitrary: fc.Arbitrary<T>, clientShaped: boolean): fc.Arbitrary<T | undefined> => (clientShaped ? arbitrary : fc.option(arbitrary, { nil: undefined, freq: 4 }));

/** Requests of every shape the classes can write, the client's among them. */
const requests = (clientShaped: boolean) =>
  fc
    .record({
      correlation: present(clientShaped ? uuidMessage(false) : fc.oneof(uuidMessage(false), uuidMessage(true)), clientShaped),
      options: fc.option(
        fc.record({
          name: present(clientShaped ? ascii.map((name) => Buffer.from(name)) : fc.oneof(bytes, text.map((name) => Buffer.from(name))), clientShaped),
          expected: fc.oneof(fc.constant('any'), fc.constant('no_stream'), fc.constant('stream_exists'), fc.nat(), clientShaped ? fc.nat() : fc.constant(undefined)),
          deadline: present(clientShaped ? fc.integer({ min: 0, max: 4_102_444_800_000 }) : fc.integer({ min: -10_000_000, max: 4_102_444_800_000 }), clientShaped),
        }),
        { nil: undefined },
      ),
      proposed: fc.array(
        fc.record({
          id: present(clientShaped ? uuidMessage(false) : fc.oneof(uuidMessage(false), uuidMessage(true)), clientShaped),
          metadata: fc.array(fc.tuple(clientShaped ? ascii : text, clientShaped ? ascii : text), { maxLength: 3 }),
          type: present(clientShaped ? ascii : text, clientShaped),
          data: bytes,
          customMetadata: bytes,
        }),
        { maxLength: 4 },
      ),
      isFinal: fc.boolean(),
    })
    .map((input) => {
      const request = new streamsPb.BatchAppendReq();
      if (input.correlation) request.setCorrelationId(input.correlation);
      if (input.options) {
        const options = new streamsPb.BatchAppendReq.Options();
        if (input.options.name) options.setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(input.options.name));
        const expected = input.options.expected;
        if (expected === 'any') options.setAny(new Empty() as never);
        else if (expected === 'no_stream') options.setNoStream(new Empty() as never);
        else if (expected === 'stream_exists') options.setStreamExists(new Empty() as never);
        else if (typeof expected === 'number') options.setStreamPosition(String(expected));
        if (input.options.deadline !== undefined) options.setDeadline(Timestamp.fromDate(new Date(input.options.deadline)) as never);
        request.setOptions(options);
      }
      for (const proposed of input.proposed) {
        const message = new streamsPb.BatchAppendReq.ProposedMessage();
        if (proposed.id) message.setId(proposed.id);
        for (const [key, value] of proposed.metadata) message.getMetadataMap().set(key, value);
        if (proposed.type !== undefined) {
          message.getMetadataMap().set('type', proposed.type);
          message.getMetadataMap().set('content-type', 'application/json');
        }
        message.setData(proposed.data).setCustomMetadata(proposed.customMetadata);
        request.addProposedMessages(message);
      }
      return request.setIsFinal(input.isFinal);
    });

const classes = (encoded: Uint8Array): Request => streamsPb.BatchAppendReq.deserializeBinary(encoded);
const byHand = (encoded: Uint8Array): Request | undefined => decodeBatchAppendReq(encoded) as unknown as Request | undefined;

describe('BatchAppend requests decoded by hand', () => {
  it('decodes what the client sends exactly as the classes do', () => {
    fc.assert(
      fc.property(requests(true), (request) => {
        const encoded = request.serializeBinary();
        const decoded = byHand(encoded);
        expect(decoded, 'a request of the client\'s shape is decoded by hand').toBeDefined();
        expect(view(decoded!)).toEqual(view(classes(encoded)));
      }),
      { numRuns: 500 },
    );
  });

  it('gives what the classes give whenever it decodes a request of any other shape, and declines the rest', () => {
    let declined = 0;
    fc.assert(
      fc.property(requests(false), (request) => {
        const encoded = request.serializeBinary();
        const decoded = byHand(encoded);
        if (decoded) expect(view(decoded)).toEqual(view(classes(encoded)));
        else declined++;
      }),
      { numRuns: 1_000 },
    );
    // Structured UUIDs, non-ASCII text, pre-epoch deadlines: left to the classes.
    expect(declined).toBeGreaterThan(0);
  });

  it('never accepts bytes the classes would refuse or read otherwise', () => {
    const mutated = fc
      .tuple(requests(false), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 4 }))
      .map(([request, edits]) => {
        const encoded = [...request.serializeBinary()];
        for (const [at, value, edit] of edits) {
          const index = encoded.length === 0 ? 0 : at % encoded.length;
          if (edit === 'set') encoded[index] = value;
          else if (edit === 'insert') encoded.splice(index, 0, value);
          else if (edit === 'delete') encoded.splice(index, 1);
          else encoded.length = index;
        }
        return Uint8Array.from(encoded);
      });
    fc.assert(
      fc.property(mutated, (encoded) => {
        const decoded = byHand(encoded);
        if (!decoded) return;
        let expected: Request;
        try {
          expected = classes(encoded);
        } catch (error) {
          throw new Error(`decoded by hand, refused by the classes: ${Buffer.from(encoded).toString('hex')}`, { cause: error });
        }
        expect(view(decoded)).toEqual(view(expected));
      }),
      { numRuns: 3_000 },
    );
  });

  it('answers the correlation id as a message of the class, which replies carry', () => {
    const id = '0b7e3f2a-5c1d-4e8f-9a6b-2d4c6e8f0a1b';
    const request = new streamsPb.BatchAppendReq().setCorrelationId(new sharedPb.UUID().setString(id)).setIsFinal(true);
    const correlation = byHand(request.serializeBinary())!.getCorrelationId();
    expect(correlation).toBeInstanceOf(sharedPb.UUID);
    expect(new streamsPb.BatchAppendResp().setCorrelationId(correlation).getCorrelationId()?.getString()).toBe(id);
  });
});
