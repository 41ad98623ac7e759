// Raw gRPC calls to the embedded server with a pass-through serializer: exactly the bytes a
// buggy or hostile client would send, not what @eventstore/db-client would.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';

const passThrough = (bytes: Buffer) => bytes;

export interface RawReply {
  status: grpc.status;
  details: string;
  trailers: Record<string, string>;
}

export function rawClient(host: string, port: number): grpc.Client {
  return new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
}

function settle(resolve: (reply: RawReply) => void) {
  return (error: grpc.ServiceError | null) => {
    if (!error) {
      resolve({ status: grpc.status.OK, details: '', trailers: {} });
      return;
    }
    const trailers = Object.fromEntries(Object.entries(error.metadata?.getMap() ?? {}).map(([key, value]) => [key, String(value)]));
    resolve({ status: error.code, details: error.details, trailers });
  };
}

/** One request message of `bytes` to a unary or server-streaming method; resolves with its status. */
export function rawUnary(client: grpc.Client, method: string, bytes: Buffer, deadlineMs = 5_000): Promise<RawReply> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, passThrough, passThrough, bytes, { deadline: Date.now() + deadlineMs }, settle(resolve));
  });
}

export function rawServerStream(client: grpc.Client, method: string, bytes: Buffer, deadlineMs = 5_000): Promise<RawReply & { messages: number }> {
  return new Promise((resolve) => {
    let messages = 0;
    const call = client.makeServerStreamRequest(method, passThrough, passThrough, bytes, { deadline: Date.now() + deadlineMs });
    call.on('data', () => messages++);
    call.on('error', (error: grpc.ServiceError) => settle((reply) => resolve({ ...reply, messages }))(error));
    call.on('end', () => resolve({ status: grpc.status.OK, details: '', trailers: {}, messages }));
  });
}

/** Several request messages to a client-streaming method (Append), then the end of the stream. */
export function rawClientStream(client: grpc.Client, method: string, messages: Buffer[], deadlineMs = 5_000): Promise<RawReply> {
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(method, passThrough, passThrough, { deadline: Date.now() + deadlineMs }, settle(resolve));
    for (const message of messages) call.write(message);
    call.end();
  });
}

/** A bidirectional call (BatchAppend, persistent Read): writes, ends, collects the outcome. */
export function rawDuplex(client: grpc.Client, method: string, messages: Buffer[], deadlineMs = 5_000): Promise<RawReply & { messages: number }> {
  return new Promise((resolve) => {
    let received = 0;
    const call = client.makeBidiStreamRequest(method, passThrough, passThrough, { deadline: Date.now() + deadlineMs });
    call.on('data', () => received++);
    call.on('error', (error: grpc.ServiceError) => settle((reply) => resolve({ ...reply, messages: received }))(error));
    call.on('end', () => resolve({ status: grpc.status.OK, details: '', trailers: {}, messages: received }));
    for (const message of messages) call.write(message);
    call.end();
  });
}

/** The Append messages of one event with whatever type, content type and payload bytes. */
export function appendMessages(stream: string, event: { type?: string; contentType?: string; data: Buffer; metadata?: Buffer; id?: string }): Buffer[] {
  const options = new streamsPb.AppendReq.Options();
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(stream, 'utf8'));
  options.setStreamIdentifier(identifier);
  options.setAny(new sharedPb.Empty());
  const header = new streamsPb.AppendReq();
  header.setOptions(options);

  const proposed = new streamsPb.AppendReq.ProposedMessage();
  const uuid = new sharedPb.UUID();
  uuid.setString(event.id ?? randomUUID());
  proposed.setId(uuid);
  if (event.type !== undefined) proposed.getMetadataMap().set('type', event.type);
  if (event.contentType !== undefined) proposed.getMetadataMap().set('content-type', event.contentType);
  proposed.setData(event.data);
  if (event.metadata) proposed.setCustomMetadata(event.metadata);
  const message = new streamsPb.AppendReq();
  message.setProposedMessage(proposed);
  return [Buffer.from(header.serializeBinary()), Buffer.from(message.serializeBinary())];
}

export const METHODS = {
  append: '/event_store.client.streams.Streams/Append',
  batchAppend: '/event_store.client.streams.Streams/BatchAppend',
  read: '/event_store.client.streams.Streams/Read',
  delete: '/event_store.client.streams.Streams/Delete',
  tombstone: '/event_store.client.streams.Streams/Tombstone',
  persistentCreate: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/Create',
  persistentUpdate: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/Update',
  persistentDelete: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/Delete',
  persistentRead: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/Read',
  persistentGetInfo: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/GetInfo',
  persistentReplayParked: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/ReplayParked',
  persistentList: '/event_store.client.persistent_subscriptions.PersistentSubscriptions/List',
  serverFeatures: '/event_store.client.server_features.ServerFeatures/GetSupportedMethods',
  gossip: '/event_store.client.gossip.Gossip/Read',
} as const;
