// The persistent subscriptions' ReadResp decoder (src/eventstore/persistent-read-decoder.ts)
// against google-protobuf's: for any message the client's generated classes can write, every
// getter the client reads answers the same, and so does the client's own conversion of the
// delivery; for broken bytes it answers as google-protobuf does (its result, or its error).
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeReadResp, fastReadResp, googleReadResp } from '../../../src/eventstore/persistent-read-decoder.js';

const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
/* eslint-disable @typescript-eslint/no-explicit-any -- google-protobuf's generated classes are untyped here */
const persistentPb = clientRequire('../generated/persistent_pb.js') as any;
const sharedPb = clientRequire('../generated/shared_pb.js') as any;
const { convertPersistentSubscriptionGrpcEvent } = clientRequire('./utils/convertGrpcEvent.js') as { convertPersistentSubscriptionGrpcEvent(event: unknown): unknown };
const { ReadResp } = persistentPb;
const { ReadEvent } = ReadResp;
const { RecordedEvent } = ReadEvent;

const plain = (value: unknown): unknown =>
  value instanceof Uint8Array ? { bytes: Buffer.from(value).toString('hex') } : value instanceof Map || (value && typeof (value as any).entries === 'function' && typeof (value as any).get === 'function') ? mapEntries(value) : value;
function mapEntries(map: any): [string, string][] {
  const entries: [string, string][] = [];
  for (const key of [...map.keys()].sort()) entries.push([key, map.get(key)]);
  return entries;
}

/** Every getter of a decoded ReadResp the client (or a reader of it) may use, as plain data. */
function view(resp: any): unknown {
  const recorded = (event: any) =>
    event && {
      hasId: event.hasId(),
      id: event.hasId() && {
        hasStructured: event.getId().hasStructured(),
        structured: event.getId().hasStructured() && [event.getId().getStructured().getMostSignificantBits(), event.getId().getStructured().getLeastSignificantBits()],
        text: event.getId().getString(),
      },
      hasStreamIdentifier: event.hasStreamIdentifier(),
      streamName: event.hasStreamIdentifier() && plain(event.getStreamIdentifier().getStreamName()),
      streamRevision: event.getStreamRevision(),
      preparePosition: event.getPreparePosition(),
      commitPosition: event.getCommitPosition(),
      metadata: mapEntries(event.getMetadataMap()),
      customMetadata: plain(event.getCustomMetadata_asU8()),
      data: plain(event.getData()),
      dataU8: plain(event.getData_asU8()),
    };
  const event = resp.getEvent();
  return {
    hasEvent: resp.hasEvent(),
    event: event && {
      hasEvent: event.hasEvent(),
      event: recorded(event.getEvent()),
      hasLink: event.hasLink(),
      link: recorded(event.getLink()),
      hasCommitPosition: event.hasCommitPosition(),
      commitPosition: event.getCommitPosition(),
      hasRetryCount: event.hasRetryCount(),
      retryCount: event.getRetryCount(),
      converted: convertPersistentSubscriptionGrpcEvent(event),
    },
    hasConfirmation: resp.hasSubscriptionConfirmation(),
    confirmation: resp.getSubscriptionConfirmation()?.getSubscriptionId(),
  };
}

function outcome(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return { decoded: view(decode(bytes)) };
  } catch (error) {
    return { threw: String((error as Error)?.message ?? error) };
  }
}

const u64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 53n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const json = fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value)));
const someBytes = fc.oneof(json, fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)));

const recordedEvent = fc
  .record(
    {
      id: fc.oneof(fc.uuid().map((text) => ({ text })), fc.tuple(i64, i64).map(([most, least]) => ({ most, least }))),
      stream: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constant('order-t1-ü→✓')),
      revision: u64,
      prepare: u64,
      commit: u64,
      metadata: fc.dictionary(fc.constantFrom('type', 'content-type', 'created', 'x'), fc.string({ unit: 'grapheme', maxLength: 20 })),
      custom: someBytes,
      data: someBytes,
    },
    { requiredKeys: [] },
  )
  .map((fields) => {
    const event = new RecordedEvent();
    if (fields.id) {
      const uuid = new sharedPb.UUID();
      if ('text' in fields.id) uuid.setString(fields.id.text);
      else {
        const structured = new sharedPb.UUID.Structured();
        structured.setMostSignificantBits(fields.id.most.toString());
        structured.setLeastSignificantBits(fields.id.least.toString());
        uuid.setStructured(structured);
      }
      event.setId(uuid);
    }
    if (fields.stream !== undefined) {
      const identifier = new sharedPb.StreamIdentifier();
      identifier.setStreamName(Buffer.from(fields.stream));
      event.setStreamIdentifier(identifier);
    }
    if (fields.revision !== undefined) event.setStreamRevision(fields.revision.toString());
    if (fields.prepare !== undefined) event.setPreparePosition(fields.prepare.toString());
    if (fields.commit !== undefined) event.setCommitPosition(fields.commit.toString());
    for (const [key, value] of Object.entries(fields.metadata ?? {})) event.getMetadataMap().set(key, value);
    if (fields.custom) event.setCustomMetadata(fields.custom);
    if (fields.data) event.setData(fields.data);
    return event;
  });

const readResp = fc.oneof(
  fc
    .record(
      {
        event: recordedEvent,
        link: recordedEvent,
        position: fc.oneof(u64.map((commit) => ({ commit })), fc.constant({ none: true })),
        retries: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((count) => ({ count })), fc.constant({ none: true })),
      },
      { requiredKeys: [] },
    )
    .map((fields) => {
      const event = new ReadEvent();
      if (fields.event) event.setEvent(fields.event);
      if (fields.link) event.setLink(fields.link);
      if (fields.position && 'commit' in fields.position) event.setCommitPosition(fields.position.commit.toString());
      else if (fields.position) event.setNoPosition(new sharedPb.Empty());
      if (fields.retries && 'count' in fields.retries) event.setRetryCount(fields.retries.count);
      else if (fields.retries) event.setNoRetryCount(new sharedPb.Empty());
      const resp = new ReadResp();
      resp.setEvent(event);
      return resp;
    }),
  fc.string({ maxLength: 40 }).map((id) => {
    const confirmation = new ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(id);
    const resp = new ReadResp();
    resp.setSubscriptionConfirmation(confirmation);
    return resp;
  }),
  fc.constant(new ReadResp()),
);
const encoded = readResp.map((resp) => resp.serializeBinary() as Uint8Array);

describe("the persistent subscriptions' ReadResp decoder", () => {
  it('answers every getter the client reads as google-protobuf does, for any message the client can be sent', () => {
    fc.assert(
      fc.property(encoded, (bytes) => {
        const fast = decodeReadResp(bytes);
        expect(fast, 'decoded without falling back').toBeDefined();
        expect(outcome(() => fast, bytes)).toEqual(outcome(googleReadResp, bytes));
      }),
      { numRuns: 1_500 },
    );
  });

  it('reads an order event delivery to the same resolved event the client made before', () => {
    const recorded = new RecordedEvent();
    const uuid = new sharedPb.UUID();
    uuid.setString('7b0a4f9e-2b0c-4c5e-9a55-6a4f1f4a2b11');
    recorded.setId(uuid);
    const identifier = new sharedPb.StreamIdentifier();
    identifier.setStreamName(Buffer.from('order-t1-o-1'));
    recorded.setStreamIdentifier(identifier);
    recorded.setStreamRevision('2');
    recorded.setPreparePosition('123456789012');
    recorded.setCommitPosition('123456789012');
    for (const [key, value] of [['type', 'order.paid'], ['content-type', 'application/json'], ['created', '17330000000000000']]) recorded.getMetadataMap().set(key, value);
    recorded.setCustomMetadata(Buffer.from(JSON.stringify({ $correlationId: 'c-1', tenantId: 't1' })));
    recorded.setData(Buffer.from(JSON.stringify({ orderId: 'o-1', amount: 1999 })));
    const event = new ReadEvent();
    event.setEvent(recorded);
    event.setCommitPosition('123456789012');
    event.setRetryCount(1);
    const resp = new ReadResp();
    resp.setEvent(event);
    const bytes = resp.serializeBinary();
    const converted = convertPersistentSubscriptionGrpcEvent((fastReadResp(bytes) as any).getEvent());
    expect(converted).toEqual(convertPersistentSubscriptionGrpcEvent((googleReadResp(bytes) as any).getEvent()));
    expect(converted).toMatchObject({
      retryCount: 1,
      commitPosition: 123456789012n,
      event: { streamId: 'order-t1-o-1', id: '7b0a4f9e-2b0c-4c5e-9a55-6a4f1f4a2b11', revision: 2n, type: 'order.paid', isJson: true, data: { orderId: 'o-1', amount: 1999 }, metadata: { $correlationId: 'c-1', tenantId: 't1' } },
    });
  });

  it('skips fields it does not know, as google-protobuf does', () => {
    fc.assert(
      fc.property(encoded, fc.integer({ min: 7, max: 200 }), fc.uint8Array({ maxLength: 10 }), (bytes, field, payload) => {
        // An unknown length-delimited field at the end of the message.
        const unknown = Buffer.concat([Buffer.from(bytes), Buffer.from(varint((field << 3) | 2)), Buffer.from(varint(payload.length)), Buffer.from(payload)]);
        expect(decodeReadResp(unknown)).toBeDefined();
        expect(outcome(fastReadResp, unknown)).toEqual(outcome(googleReadResp, unknown));
      }),
      { numRuns: 300 },
    );
  });

  it('answers broken bytes as google-protobuf does: its result or its error', () => {
    fc.assert(
      fc.property(encoded, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (bytes, at, byte, truncate) => {
        if (bytes.length === 0) return;
        const broken = Uint8Array.from(bytes);
        const index = at % broken.length;
        const damaged = truncate ? broken.subarray(0, index) : (broken.set([byte], index), broken);
        expect(outcome(fastReadResp, damaged)).toEqual(outcome(googleReadResp, damaged));
      }),
      { numRuns: 3_000 },
    );
  });
});

function varint(value: number): number[] {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return bytes;
}
