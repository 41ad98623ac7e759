// The embedded server refuses malformed gRPC requests, raw bytes and wrong message shapes alike,
// with a status (EventStoreDB's exception trailers where it has one), writes nothing, and keeps
// serving the real client afterwards.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { StreamDeletedError, WrongExpectedVersionError, jsonEvent, persistentSubscriptionToStreamSettingsFromDefaults } from '@eventstore/db-client';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import persistentPb from '@eventstore/db-client/generated/persistent_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { appendMessages, METHODS, rawClient, rawClientStream, rawDuplex, rawServerStream, rawUnary, type RawReply } from './raw-grpc.js';
import { allHead } from './support.js';

let store: TestEventStore;
let raw: grpc.Client;

beforeAll(async () => {
  store = await startTestEventStore();
  raw = rawClient(store.server.host, store.server.port);
  await store.client.appendToStream('existing-1', jsonEvent({ type: 'seeded', data: { n: 1 } }));
});

afterAll(async () => {
  raw?.close();
  await store?.close();
});

type Kind = 'unary' | 'serverStream' | 'clientStream' | 'duplex';
const SHAPES: Record<keyof typeof METHODS, Kind> = {
  append: 'clientStream',
  batchAppend: 'duplex',
  read: 'serverStream',
  delete: 'unary',
  tombstone: 'unary',
  persistentCreate: 'unary',
  persistentUpdate: 'unary',
  persistentDelete: 'unary',
  persistentRead: 'duplex',
  persistentGetInfo: 'unary',
  persistentReplayParked: 'unary',
  persistentList: 'unary',
  serverFeatures: 'unary',
  gossip: 'unary',
};

function call(method: keyof typeof METHODS, messages: Buffer[], deadlineMs = 2_000): Promise<RawReply> {
  const path = METHODS[method];
  switch (SHAPES[method]) {
    case 'unary':
      return rawUnary(raw, path, messages[0] ?? Buffer.alloc(0), deadlineMs);
    case 'serverStream':
      return rawServerStream(raw, path, messages[0] ?? Buffer.alloc(0), deadlineMs);
    case 'clientStream':
      return rawClientStream(raw, path, messages, deadlineMs);
    case 'duplex':
      return rawDuplex(raw, path, messages, deadlineMs);
  }
}

/** Proves the server still does its job for the real client. */
async function expectServing(): Promise<void> {
  const stream = `after-garbage-${randomUUID()}`;
  await store.client.appendToStream(stream, jsonEvent({ type: 'still-serving', data: { ok: true } }));
  const types: string[] = [];
  for await (const resolved of store.client.readStream(stream)) types.push(resolved.event?.type ?? '');
  expect(types).toEqual(['still-serving']);
  const group = `g-${randomUUID()}`;
  await store.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults());
  expect((await store.client.getPersistentSubscriptionToStreamInfo(stream, group)).groupName).toBe(group);
}

// Protobuf that cannot be decoded: a field header with a varint that never ends.
const UNDECODABLE = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

describe('malformed gRPC requests to the embedded server', () => {
  it.each(Object.keys(METHODS) as Array<keyof typeof METHODS>)('refuses undecodable bytes sent to %s with INTERNAL, as a gRPC server does', async (method) => {
    const reply = await call(method, [UNDECODABLE]);
    expect(reply.status).toBe(grpc.status.INTERNAL);
    expect(reply.details).toMatch(/deserializ/i);
  });

  it('answers random bytes on every method with a status, never an uncaught error, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...(Object.keys(METHODS) as Array<keyof typeof METHODS>)), fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 3 }), async (method, messages) => {
        const reply = await call(method, messages.map((bytes) => Buffer.from(bytes)), 1_000);
        // UNKNOWN is what grpc-js answers when a handler throws: the server must never get there.
        expect(reply.status).not.toBe(grpc.status.UNKNOWN);
      }),
      { numRuns: 150 },
    );
    await expectServing();
  });

  it('answers mutated valid Append and Read requests (flipped, truncated, repeated bytes) with a status, and keeps serving', async () => {
    const validRead = (() => {
      const stream = new streamsPb.ReadReq.Options.StreamOptions();
      const identifier = new sharedPb.StreamIdentifier();
      identifier.setStreamName(Buffer.from('existing-1'));
      stream.setStreamIdentifier(identifier);
      stream.setStart(new sharedPb.Empty());
      const options = new streamsPb.ReadReq.Options();
      options.setStream(stream);
      options.setCount('10');
      options.setNoFilter(new sharedPb.Empty());
      const uuid = new streamsPb.ReadReq.Options.UUIDOption();
      uuid.setString(new sharedPb.Empty());
      options.setUuidOption(uuid);
      return Buffer.from(new streamsPb.ReadReq().setOptions(options).serializeBinary());
    })();
    expect((await call('read', [validRead])).status).toBe(grpc.status.OK);
    const validAppend = appendMessages('mutated', { type: 'order.created', contentType: 'application/json', data: Buffer.from('{"a":1}') });
    const mutate = (bytes: Buffer) =>
      fc.oneof(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
          const copy = Buffer.from(bytes);
          for (const [index, value] of flips) copy[index] = value;
          return copy;
        }),
        fc.nat(bytes.length - 1).map((length) => bytes.subarray(0, length)),
        fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 40 })).map(([index, times]) => Buffer.concat([bytes.subarray(0, index), Buffer.alloc(times, bytes[index]!), bytes.subarray(index)])),
      );
    const requests = fc.oneof(
      mutate(validRead).map((bytes) => ({ method: 'read' as const, messages: [bytes] })),
      fc.tuple(mutate(validAppend[0]!), mutate(validAppend[1]!), fc.boolean()).map(([header, event, mutateHeader]) => ({
        method: 'append' as const,
        messages: mutateHeader ? [header, validAppend[1]!] : [validAppend[0]!, event],
      })),
    );
    await fc.assert(
      fc.asyncProperty(requests, async ({ method, messages }) => {
        const reply = await call(method, messages, 1_000);
        expect(reply.status).not.toBe(grpc.status.UNKNOWN);
        expect(reply.status).not.toBe(grpc.status.DEADLINE_EXCEEDED);
      }),
      { numRuns: 200 },
    );
    await expectServing();
  });

  it('answers an event id of invalid UTF-8 with INVALID_ARGUMENT, its status text sendable (a lone surrogate once left the call without a status)', async () => {
    const [header, event] = appendMessages('bad-utf8', { type: 'order.created', contentType: 'application/json', data: Buffer.from('{}'), id: 'a'.repeat(36) });
    // The property test's counterexample: the id's first byte 0xED, which starts a surrogate in UTF-8.
    const mutated = Buffer.from(event!);
    mutated[mutated.indexOf(Buffer.from('a'.repeat(36)))] = 0xed;
    const reply = await call('append', [header!, mutated], 5_000);
    expect(reply.status).toBe(grpc.status.INVALID_ARGUMENT);
    await expectServing();
  });

  it('gives a deleted stream with a name outside ASCII its error class through the client (a trailer value grpc-js refused left the call without a status)', async () => {
    const stream = `café-☕-${randomUUID()}`;
    await store.client.appendToStream(stream, jsonEvent({ type: 'seeded', data: {} }));
    // Delete and Read answer their errors in trailers (BatchAppend, the client's append, in its reply).
    await expect(store.client.deleteStream(stream, { expectedRevision: 5n })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await store.client.tombstoneStream(stream);
    await expect(store.client.tombstoneStream(stream)).rejects.toBeInstanceOf(StreamDeletedError);
    const read = async () => {
      for await (const resolved of store.client.readStream(stream)) void resolved;
    };
    await expect(read()).rejects.toBeInstanceOf(StreamDeletedError);
  });

  describe('well-formed protobuf of the wrong shape', () => {
    const header = appendMessages('shape-test', { type: 't', contentType: 'application/json', data: Buffer.from('{}') })[0]!;
    const proposed = appendMessages('shape-test', { type: 't', contentType: 'application/json', data: Buffer.from('{}') })[1]!;
    const readWithoutCount = (() => {
      const request = new streamsPb.ReadReq();
      request.setOptions(new streamsPb.ReadReq.Options());
      return Buffer.from(request.serializeBinary());
    })();
    const createWithoutSettings = (() => {
      const options = new persistentPb.CreateReq.Options();
      options.setGroupName('g');
      const stream = new sharedPb.StreamIdentifier();
      stream.setStreamName(Buffer.from('existing-1'));
      options.setStreamIdentifier(stream);
      const request = new persistentPb.CreateReq();
      request.setOptions(options);
      return Buffer.from(request.serializeBinary());
    })();

    it.each<[string, keyof typeof METHODS, () => Buffer[], RegExp]>([
      ['Append whose first message is an event, not the options', 'append', () => [proposed, header], /options/],
      ['Append with the options twice', 'append', () => [header, header], /options/],
      ['Append with no message at all', 'append', () => [], /options/],
      ['Append to an empty stream name', 'append', () => appendMessages('', { type: 't', contentType: 'application/json', data: Buffer.from('{}') }), /stream name/],
      ['Append with an event id that is not a UUID', 'append', () => appendMessages('s', { type: 't', contentType: 'application/json', data: Buffer.from('{}'), id: 'not-a-uuid' }), /UUID/],
      ['Read without options', 'read', () => [Buffer.alloc(0)], /options/],
      ['Read with neither a count nor a subscription', 'read', () => [readWithoutCount], /count/],
      ['Delete without a stream', 'delete', () => [Buffer.alloc(0)], /stream/],
      ['PersistentSubscriptions.Create without options', 'persistentCreate', () => [Buffer.alloc(0)], /options/],
      ['PersistentSubscriptions.Create without settings', 'persistentCreate', () => [createWithoutSettings], /settings/],
      ['PersistentSubscriptions.GetInfo without options', 'persistentGetInfo', () => [Buffer.alloc(0)], /options/],
      ['PersistentSubscriptions.Read without options first', 'persistentRead', () => [Buffer.alloc(0)], /options/],
      ['BatchAppend without a correlation id', 'batchAppend', () => [Buffer.alloc(0)], /correlation/],
    ])('refuses %s with INVALID_ARGUMENT and writes nothing', async (_name, method, messages, detail) => {
      const head = await allHead(store.client);
      const reply = await call(method, messages());
      expect(reply.status).toBe(grpc.status.INVALID_ARGUMENT);
      expect(reply.details).toMatch(detail);
      expect(await allHead(store.client)).toBe(head);
    });

    it('refuses an event without type and content-type with EventStoreDB\'s missing-required-metadata-property', async () => {
      const head = await allHead(store.client);
      const reply = await call('append', appendMessages('no-metadata', { data: Buffer.from('{}') }));
      expect(reply).toMatchObject({
        status: grpc.status.INVALID_ARGUMENT,
        trailers: expect.objectContaining({ exception: 'missing-required-metadata-property', 'required-metadata-properties': 'type,content-type' }),
      });
      expect(await allHead(store.client)).toBe(head);
    });

    it("refuses an append over 16 MiB with EventStoreDB's maximum-append-size-exceeded", async () => {
      const head = await allHead(store.client);
      const reply = await call('append', appendMessages('too-big', { type: 't', contentType: 'application/octet-stream', data: Buffer.alloc(16 * 1024 * 1024 + 1, 1) }), 20_000);
      expect(reply).toMatchObject({ status: grpc.status.INVALID_ARGUMENT, trailers: expect.objectContaining({ exception: 'maximum-append-size-exceeded' }) });
      expect(await allHead(store.client)).toBe(head);
    });

    it('keeps serving the real client after all of it', async () => {
      await expectServing();
    });
  });
});
