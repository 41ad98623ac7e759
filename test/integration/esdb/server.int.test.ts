import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import featuresGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import featuresPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import { startEventStoreServer } from '../../../src/esdb-server/index.js';
import { Empty, Timestamp } from './protobuf-well-known.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { collect, eventually, orderEvents, record } from './support.js';

let store: TestEventStore;
let raw: InstanceType<typeof streamsGrpc.StreamsClient>;
beforeAll(async () => {
  store = await startTestEventStore();
  raw = new streamsGrpc.StreamsClient(`127.0.0.1:${store.server.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  await store.close();
});

const stillServes = async () => {
  const stream = `order-${randomUUID()}`;
  await store.client.appendToStream(stream, orderEvents(1));
  expect(await collect(store.client.readStream(stream))).toHaveLength(1);
};

function rawAppend(messages: InstanceType<typeof streamsPb.AppendReq>[]): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    const call = raw.append((error: grpc.ServiceError | null) => (error ? resolve(error) : reject(new Error('append succeeded'))));
    for (const message of messages) call.write(message);
    call.end();
  });
}

const options = (stream: string) =>
  new streamsPb.AppendReq().setOptions(
    new streamsPb.AppendReq.Options().setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream))).setAny(new sharedPb.Empty()),
  );
const proposed = (id: string, metadata: Record<string, string>) => {
  const message = new streamsPb.AppendReq.ProposedMessage().setId(new sharedPb.UUID().setString(id)).setData(Buffer.from('{}'));
  for (const [key, value] of Object.entries(metadata)) message.getMetadataMap().set(key, value);
  return new streamsPb.AppendReq().setProposedMessage(message);
};

describe('the embedded server as a whole', () => {
  it('is found through esdb+discover:// gossip as the leader', async () => {
    const discovering = EventStoreDBClient.connectionString(`esdb+discover://127.0.0.1:${store.server.port}?tls=false`);
    try {
      const stream = `order-${randomUUID()}`;
      await discovering.appendToStream(stream, jsonEvent({ type: 't', data: {} }));
      expect(await collect(discovering.readStream(stream))).toHaveLength(1);
    } finally {
      await discovering.dispose();
    }
  });

  it('advertises its version and the methods it serves, including BatchAppend and gossip', async () => {
    const features = new featuresGrpc.ServerFeaturesClient(`127.0.0.1:${store.server.port}`, grpc.credentials.createInsecure());
    const reply = await new Promise<InstanceType<typeof featuresPb.SupportedMethods>>((resolve, reject) =>
      features.getSupportedMethods(new sharedPb.Empty(), (error, value) => (error ? reject(error) : resolve(value))),
    );
    features.close();
    expect(reply.getEventStoreServerVersion()).toMatch(/^\d+\.\d+\.\d+$/);
    const methods = reply.getMethodsList().map((m) => `${m.getServiceName()}/${m.getMethodName()}`);
    expect(methods).toEqual(
      expect.arrayContaining([
        'event_store.client.streams.streams/batchappend',
        'event_store.client.streams.streams/append',
        'event_store.client.streams.streams/read',
        'event_store.client.gossip.gossip/read',
      ]),
    );
    expect(new Set(methods).size).toBe(methods.length);
  });

  it('answers an append whose first message is not the options with INVALID_ARGUMENT and keeps serving', async () => {
    const error = await rawAppend([proposed(randomUUID(), { type: 't', 'content-type': 'application/json' })]);
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    await stillServes();
  });

  it('answers an event without a type with the missing-required-metadata exception', async () => {
    const error = await rawAppend([options(`order-${randomUUID()}`), proposed(randomUUID(), { 'content-type': 'application/json' })]);
    expect(error.metadata.get('exception')).toEqual(['missing-required-metadata-property']);
    expect(error.metadata.get('required-metadata-properties')).toEqual(['type']);
    await stillServes();
  });

  it('answers an event id that is not a UUID with INVALID_ARGUMENT', async () => {
    const error = await rawAppend([options(`order-${randomUUID()}`), proposed('not-a-uuid', { type: 't', 'content-type': 'application/json' })]);
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    await stillServes();
  });

  it('answers a read without options with INVALID_ARGUMENT instead of hanging', async () => {
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const call = raw.read(new streamsPb.ReadReq());
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    await stillServes();
  });

  it('answers bytes that are not a protobuf message with an error and keeps serving', async () => {
    const Garbage = grpc.makeGenericClientConstructor(
      {
        delete: {
          path: '/event_store.client.streams.Streams/Delete',
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: Buffer) => value,
          requestDeserialize: (value: Buffer) => value,
          responseSerialize: (value: Buffer) => value,
          responseDeserialize: (value: Buffer) => value,
        },
      },
      'Garbage',
    );
    const garbage = new Garbage(`127.0.0.1:${store.server.port}`, grpc.credentials.createInsecure()) as unknown as {
      delete(request: Buffer, callback: (error: grpc.ServiceError | null) => void): void;
      close(): void;
    };
    const error = await new Promise<grpc.ServiceError | null>((resolve) => garbage.delete(Buffer.from([0xff, 0xff, 0xff, 0x07]), resolve));
    garbage.close();
    expect(error?.code).toBeDefined();
    await stillServes();
  });
});

describe('BatchAppend spoken directly', () => {
  type BatchResp = InstanceType<typeof streamsPb.BatchAppendResp>;
  const uuid = (id: string) => new sharedPb.UUID().setString(id);
  const batchOptions = (stream: string) =>
    new streamsPb.BatchAppendReq.Options().setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream))).setAny(new Empty());
  const batchEvent = () => {
    const message = new streamsPb.BatchAppendReq.ProposedMessage().setId(uuid(randomUUID())).setData(Buffer.from('{}'));
    message.getMetadataMap().set('type', 't');
    message.getMetadataMap().set('content-type', 'application/json');
    return message;
  };

  const request = (id: string, final: boolean, options?: InstanceType<typeof streamsPb.BatchAppendReq.Options>) => {
    const message = new streamsPb.BatchAppendReq().setCorrelationId(uuid(id)).setProposedMessagesList([batchEvent()]).setIsFinal(final);
    return options ? message.setOptions(options) : message;
  };

  async function exchange(requests: InstanceType<typeof streamsPb.BatchAppendReq>[], replies: number): Promise<BatchResp[]> {
    const call = raw.batchAppend();
    const received: BatchResp[] = [];
    const done = new Promise<BatchResp[]>((resolve, reject) => {
      call.on('data', (reply: BatchResp) => {
        received.push(reply);
        if (received.length === replies) resolve(received);
      });
      call.on('error', reject);
    });
    for (const request of requests) call.write(request);
    const result = await done;
    call.end();
    return result;
  }

  it('answers an append that never sent its options with an error echoing its correlation id, and still serves the others', async () => {
    const orphan = randomUUID();
    const good = randomUUID();
    const stream = `order-${randomUUID()}`;
    const replies = await exchange(
      [
        request(orphan, true),
        request(good, true, batchOptions(stream)),
      ],
      2,
    );
    const byId = new Map(replies.map((reply) => [reply.getCorrelationId()!.getString(), reply]));
    expect(byId.get(orphan)!.hasError()).toBe(true);
    expect(byId.get(orphan)!.hasStreamIdentifier()).toBe(true);
    expect(byId.get(good)!.getSuccess()!.getCurrentRevision()).toBe('0');
  });

  it('assembles one append sent over several requests and replies once, after the final one', async () => {
    const id = randomUUID();
    const stream = `order-${randomUUID()}`;
    const [reply] = await exchange(
      [
        request(id, false, batchOptions(stream)),
        request(id, false),
        request(id, true),
      ],
      1,
    );
    expect(reply!.getSuccess()!.getCurrentRevision()).toBe('2');
    expect(await collect(store.client.readStream(stream))).toHaveLength(3);
  });

  it('answers an append whose deadline has passed with a Timeout detail and writes nothing', async () => {
    const stream = `order-${randomUUID()}`;
    const options = batchOptions(stream).setDeadline(Timestamp.fromDate(new Date(Date.now() - 1_000)));
    const [reply] = await exchange([request(randomUUID(), true, options)], 1);
    expect(reply!.getError()!.getDetails()!.getTypeName()).toBe('event_store.client.Timeout');
    await expect(collect(store.client.readStream(stream))).rejects.toMatchObject({ type: 'stream-not-found' });
  });
});

describe('a read asking for structured UUIDs', () => {
  it('gets the event id as two 64-bit halves that spell the same UUID', async () => {
    const stream = `order-${randomUUID()}`;
    const [event] = orderEvents(1);
    await store.client.appendToStream(stream, event!);
    const options = new streamsPb.ReadReq.Options()
      .setStream(new streamsPb.ReadReq.Options.StreamOptions().setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream))).setStart(new sharedPb.Empty()))
      .setCount('10')
      .setNoFilter(new sharedPb.Empty())
      .setUuidOption(new streamsPb.ReadReq.Options.UUIDOption().setStructured(new sharedPb.Empty()));
    const replies = await new Promise<InstanceType<typeof streamsPb.ReadResp>[]>((resolve, reject) => {
      const received: InstanceType<typeof streamsPb.ReadResp>[] = [];
      const call = raw.read(new streamsPb.ReadReq().setOptions(options));
      call.on('data', (reply: InstanceType<typeof streamsPb.ReadResp>) => received.push(reply));
      call.on('end', () => resolve(received));
      call.on('error', reject);
    });
    const structured = replies[0]!.getEvent()!.getEvent()!.getId()!.getStructured()!;
    const hex = (value: string) => BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, '0');
    const id = hex(structured.getMostSignificantBits()) + hex(structured.getLeastSignificantBits());
    expect(id).toBe(event!.id.replace(/-/g, ''));
  });
});

describe('closing the server', () => {
  it('ends live subscriptions with an error and finishes promptly', async () => {
    const server = await startEventStoreServer({ memory: true, port: 0, insecure: true });
    const client = EventStoreDBClient.connectionString(server.connectionString);
    try {
      await client.appendToStream('order-1', orderEvents(1));
      const subscription = client.subscribeToAll();
      const seen = record(subscription);
      await seen.caughtUp();
      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(1_500);
      const failure = await eventually(() => seen.failure);
      expect(failure).toMatchObject({ type: 'unavailable' });
    } finally {
      await client.dispose();
      await server.close();
    }
  });
});
