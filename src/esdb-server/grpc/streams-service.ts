// The Streams service: Append, BatchAppend, Read (reads and catch-up subscriptions), Delete and
// Tombstone, served with the client's own generated service definition.
import type * as grpc from '@grpc/grpc-js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type { AppendResult, ExpectedRevision } from '../log/types.js';
import type { ServerContext, ServiceModule } from './service-module.js';
import { sharedPb, streamsPb } from './protocol.js';
import { parseExpectedRevision, streamNameOf } from './conversions.js';
import { handleAppend, storeError } from './append.js';
import { handleBatchAppend, type BatchAppendReply } from './batch-append.js';
import { decodeBatchAppendReq } from './batch-append-decoding.js';
import { CallWriter } from './call-writer.js';
import { parseReadRequest } from './read-request.js';
import { readAllToCall, readStreamToCall, type ReadResp } from './read.js';
import { runSubscription } from './subscription.js';
import { serverShuttingDown, toRpcError, wrongExpectedVersion } from './rpc-errors.js';
import { refuseStream } from '../auth/acl.js';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;
type BatchAppendReq = InstanceType<typeof streamsPb.BatchAppendReq>;
type DeleteReq = InstanceType<typeof streamsPb.DeleteReq>;
type DeleteResp = InstanceType<typeof streamsPb.DeleteResp>;
type TombstoneReq = InstanceType<typeof streamsPb.TombstoneReq>;
type TombstoneResp = InstanceType<typeof streamsPb.TombstoneResp>;

const SERVICE_NAME = 'event_store.client.streams.streams';

export function createStreamsService(context: ServerContext): ServiceModule {
  // Calls that stay open (reads, subscriptions, batch appends) are ended on close.
  const openCalls = new Set<CallWriter<never>>();
  let closing = false;
  const track = <T>(writer: CallWriter<T>) => {
    const entry = writer as unknown as CallWriter<never>;
    if (closing) writer.fail(serverShuttingDown());
    else openCalls.add(entry);
    return () => void openCalls.delete(entry);
  };

  const append: grpc.handleClientStreamingCall<AppendReq, AppendResp> = (call, callback) => handleAppend(context, call, callback);
  const batchAppend: grpc.handleBidiStreamingCall<BatchAppendReq, BatchAppendReply> = (call) => handleBatchAppend(context, call, track);

  const implementation: grpc.UntypedServiceImplementation = {
    append,
    batchAppend,

    read(call: grpc.ServerWritableStream<ReadReq, ReadResp>) {
      const writer = new CallWriter<ReadResp>(call);
      const untrack = track(writer);
      const serve = async () => {
        const request = parseReadRequest(call.request);
        const denied = refuseStream(context.authorization, call, 'read', request.source.kind === 'stream' ? request.source.stream : '$all');
        if (denied) throw denied;
        if (request.count === undefined) await runSubscription(context.log, request, writer);
        else if (request.source.kind === 'stream') await readStreamToCall(context.log, request, writer);
        else await readAllToCall(context.log, request, writer);
      };
      serve().then(
        () => writer.end(),
        (error: unknown) => writer.fail(toRpcError(error)),
      ).finally(untrack);
    },

    delete(call: grpc.ServerUnaryCall<DeleteReq, DeleteResp>, callback: grpc.sendUnaryData<DeleteResp>) {
      removeStream(call.request, (stream, expected) => context.log.deleteStream(stream, expected), (stream) => refuseStream(context.authorization, call, 'delete', stream)).then(
        (position) => {
          const response = new streamsPb.DeleteResp();
          if (position < 0) response.setNoPosition(new sharedPb.Empty());
          else response.setPosition(new streamsPb.DeleteResp.Position().setCommitPosition(String(position)).setPreparePosition(String(position)));
          callback(null, response);
        },
        (error: unknown) => callback(toRpcError(error)),
      );
    },

    tombstone(call: grpc.ServerUnaryCall<TombstoneReq, TombstoneResp>, callback: grpc.sendUnaryData<TombstoneResp>) {
      removeStream(call.request, (stream, expected) => context.log.tombstoneStream(stream, expected), (stream) => refuseStream(context.authorization, call, 'delete', stream)).then(
        (position) => {
          const response = new streamsPb.TombstoneResp();
          if (position < 0) response.setNoPosition(new sharedPb.Empty());
          else response.setPosition(new streamsPb.TombstoneResp.Position().setCommitPosition(String(position)).setPreparePosition(String(position)));
          callback(null, response);
        },
        (error: unknown) => callback(toRpcError(error)),
      );
    },
  };

  return {
    definition: streamsDefinition(),
    implementation,
    supportedMethods: ['read', 'append', 'batchappend', 'delete', 'tombstone'].map((methodName) => ({ serviceName: SERVICE_NAME, methodName })),
    close() {
      closing = true;
      for (const writer of openCalls) writer.fail(serverShuttingDown());
      openCalls.clear();
    },
  };
}

/**
 * The client's definition, except that Read and BatchAppend also send responses encoded in
 * advance, and BatchAppend requests of the client's usual shape are decoded by hand
 * (batch-append-decoding.ts; any other by the classes).
 */
function streamsDefinition(): grpc.ServiceDefinition {
  const definition = streamsGrpc.StreamsService as unknown as grpc.ServiceDefinition;
  const read = definition.read!;
  const batchAppend = definition.batchAppend!;
  const serialize = read.responseSerialize as (value: unknown) => Buffer;
  const serializeBatch = batchAppend.responseSerialize as (value: unknown) => Buffer;
  const deserializeBatch = batchAppend.requestDeserialize as (bytes: Buffer) => BatchAppendReq;
  return {
    ...definition,
    read: { ...read, responseSerialize: (value: ReadResp) => (Buffer.isBuffer(value) ? value : serialize(value)) },
    batchAppend: {
      ...batchAppend,
      responseSerialize: (value: BatchAppendReply) => (Buffer.isBuffer(value) ? value : serializeBatch(value)),
      // The hand-decoded request answers every method batch-append.ts calls, as the class's does.
      requestDeserialize: (bytes: Buffer) => (decodeBatchAppendReq(bytes) as unknown as BatchAppendReq | undefined) ?? deserializeBatch(bytes),
    },
  };
}

interface RemoveRequest {
  getOptions(): (Parameters<typeof parseExpectedRevision>[0] & { getStreamIdentifier(): Parameters<typeof streamNameOf>[0] }) | undefined;
}

/** Delete and Tombstone share their shape; both answer with the position of the deletion. */
async function removeStream(
  request: RemoveRequest,
  remove: (stream: string, expected: ExpectedRevision) => Promise<AppendResult>,
  refuse: (stream: string) => Error | undefined,
): Promise<number> {
  const options = request.getOptions();
  const stream = streamNameOf(options?.getStreamIdentifier());
  const denied = refuse(stream);
  if (denied) throw denied;
  const expected = parseExpectedRevision(options!);
  let result: AppendResult;
  try {
    result = await remove(stream, expected);
  } catch (error) {
    throw storeError(error, stream);
  }
  if (result.kind === 'wrong_expected_version') throw wrongExpectedVersion(stream, expected, result.currentRevision, 'Delete');
  return result.position;
}
