// The PersistentSubscriptions gRPC service: Create / Update / Delete / GetInfo / List /
// ReplayParked / RestartSubsystem and Read (the duplex call consumers receive messages and send
// acks / nacks on). Errors travel in trailers, as EventStoreDB sends them.
import * as grpc from '@grpc/grpc-js';
import persistentGrpc from '@eventstore/db-client/generated/persistent_grpc_pb.js';
import type { ServerContext, ServiceModule, SupportedMethod } from '../grpc/service-module.js';
import { CallWriter } from '../grpc/call-writer.js';
import { parseUint64, parseUuid, type UuidFormat } from '../grpc/conversions.js';
import { invalidArgument, rpcError, serverShuttingDown, toRpcError } from '../grpc/rpc-errors.js';
import { sourceName, subscriptionId, type EventSource } from './definition.js';
import { decodeAckOrNack, type AckOrNack } from './ack-decoding.js';
import { definitionFromCreate, definitionFromUpdate, groupNameOf, persistentPb, sourceOf } from './requests.js';
import type { DropReason, NackAction } from './subscription-group.js';
import { GroupExistsError, GroupNotFoundError, SubscriptionRegistry } from './subscription-registry.js';
import { confirmationMessage, empty, eventMessage, subscriptionInfo } from './wire.js';
import { refuseOperation, refuseStream, type CallAuthorization, type ServerOperation } from '../auth/acl.js';

type ReadReq = InstanceType<typeof persistentPb.ReadReq> | AckOrNack;
type ReadResp = InstanceType<typeof persistentPb.ReadResp> | Buffer;

const SERVICE_NAME = 'event_store.client.persistent_subscriptions.persistentsubscriptions';

/** The features the client checks before using gRPC (not the legacy HTTP API) and $all. */
const SUPPORTED_METHODS: SupportedMethod[] = [
  { serviceName: SERVICE_NAME, methodName: 'create', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'update', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'delete', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'read', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'getinfo', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'replayparked', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'list', features: ['stream', 'all'] },
  { serviceName: SERVICE_NAME, methodName: 'restartsubsystem' },
];

const NACK_ACTIONS: Record<number, NackAction> = {
  [persistentPb.ReadReq.Nack.Action.UNKNOWN]: 'unknown',
  [persistentPb.ReadReq.Nack.Action.PARK]: 'park',
  [persistentPb.ReadReq.Nack.Action.RETRY]: 'retry',
  [persistentPb.ReadReq.Nack.Action.SKIP]: 'skip',
  [persistentPb.ReadReq.Nack.Action.STOP]: 'stop',
};

function groupError(code: grpc.status, exception: string, details: string, stream: string, group: string) {
  return rpcError(code, details, { exception, 'stream-name': stream, 'group-name': group });
}

function doesNotExist(stream: string, group: string) {
  return groupError(grpc.status.NOT_FOUND, 'persistent-subscription-does-not-exist', `Subscription group ${group} on stream ${stream} does not exist.`, stream, group);
}

function toServiceError(error: unknown) {
  if (error instanceof GroupExistsError) {
    return groupError(grpc.status.ALREADY_EXISTS, 'persistent-subscription-exists', `Subscription group ${error.group} on stream ${error.stream} exists.`, error.stream, error.group);
  }
  if (error instanceof GroupNotFoundError) return doesNotExist(error.stream, error.group);
  return toRpcError(error);
}

/**
 * Runs a unary handler, answering with its result or its error (never throwing into grpc-js);
 * the call is refused first unless it may perform `operation` (EventStoreDB: $ops or $admins
 * manage groups, any authenticated user reads their statistics).
 */
function unary<Req, Res>(authorization: CallAuthorization | undefined, operation: ServerOperation, handle: (request: Req) => Promise<Res> | Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => {
        const denied = refuseOperation(authorization, call, operation);
        if (denied) throw denied;
        return handle(call.request);
      })
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toServiceError(error)),
      );
  };
}

/** `registry`: the server's groups, shared with its HTTP side (the UI); one of its own if not given. */
export function createPersistentSubscriptionsService(context: ServerContext, registry = new SubscriptionRegistry(context.log)): ServiceModule {
  const openCalls = new Set<CallWriter<ReadResp>>();
  let closing = false;

  const groupOf = (source: EventSource, group: string) => {
    const found = registry.find(source, group);
    if (!found) throw doesNotExist(sourceName(source), group);
    return found;
  };

  const implementation: grpc.UntypedServiceImplementation = {
    create: unary(context.authorization, 'subscriptions.create', async (request: InstanceType<typeof persistentPb.CreateReq>) => {
      await registry.create(definitionFromCreate(request));
      return new persistentPb.CreateResp();
    }),

    update: unary(context.authorization, 'subscriptions.update', async (request: InstanceType<typeof persistentPb.UpdateReq>) => {
      await registry.update(definitionFromUpdate(request));
      return new persistentPb.UpdateResp();
    }),

    delete: unary(context.authorization, 'subscriptions.delete', async (request: InstanceType<typeof persistentPb.DeleteReq>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('options are required');
      await registry.delete(sourceOf(options.hasAll(), options.getStreamIdentifier()), groupNameOf(options.getGroupName()));
      return new persistentPb.DeleteResp();
    }),

    getInfo: unary(context.authorization, 'subscriptions.statistics', (request: InstanceType<typeof persistentPb.GetInfoReq>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('options are required');
      const group = groupOf(sourceOf(options.hasAll(), options.getStreamIdentifier()), options.getGroupName());
      return new persistentPb.GetInfoResp().setSubscriptionInfo(subscriptionInfo(group.definition, group.stats()));
    }),

    list: unary(context.authorization, 'subscriptions.statistics', (request: InstanceType<typeof persistentPb.ListReq>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('options are required');
      let source: EventSource | undefined;
      if (options.hasListForStream()) {
        const forStream = options.getListForStream()!;
        source = sourceOf(forStream.hasAll(), forStream.getStream());
      }
      const groups = registry.list(source);
      if (source && groups.length === 0) throw doesNotExist(sourceName(source), '');
      return new persistentPb.ListResp().setSubscriptionsList(groups.map((group) => subscriptionInfo(group.definition, group.stats())));
    }),

    replayParked: unary(context.authorization, 'subscriptions.replayParked', (request: InstanceType<typeof persistentPb.ReplayParkedReq>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('options are required');
      const group = groupOf(sourceOf(options.hasAll(), options.getStreamIdentifier()), options.getGroupName());
      group.replayParked(options.hasStopAt() ? parseUint64(options.getStopAt(), 'stop_at') : undefined);
      return new persistentPb.ReplayParkedResp();
    }),

    restartSubsystem: unary(context.authorization, 'subscriptions.restart', async () => {
      await registry.restart();
      return empty();
    }),

    read(call: grpc.ServerDuplexStream<ReadReq, ReadResp>) {
      const writer = new CallWriter<ReadResp>(call);
      if (closing) {
        writer.fail(serverShuttingDown());
        return;
      }
      openCalls.add(writer);
      let consumer: ReturnType<ReturnType<typeof groupOf>['subscribe']> | undefined;
      let uuidFormat: UuidFormat = 'string';
      const leave = () => {
        openCalls.delete(writer);
        if (typeof consumer === 'object') consumer.leave();
      };
      call.on('cancelled', leave);
      call.on('close', leave);
      call.on('error', leave);
      call.on('end', () => {
        leave();
        writer.end();
      });
      call.on('data', (request: ReadReq) => {
        try {
          if (!(request instanceof persistentPb.ReadReq)) {
            if (typeof consumer !== 'object') throw invalidArgument('options must be sent first');
            if (request.kind === 'ack') consumer.ack(request.ids);
            else consumer.nack(request.ids, NACK_ACTIONS[request.action] ?? 'unknown', request.reason);
            return;
          }
          if (request.hasOptions()) {
            if (consumer) throw invalidArgument('options were already sent');
            const options = request.getOptions()!;
            const source = sourceOf(options.hasAll(), options.getStreamIdentifier());
            const name = options.getGroupName();
            // Consuming needs read access to the group's stream ($all for a group on $all).
            const denied = refuseStream(context.authorization, call, 'read', sourceName(source));
            if (denied) throw denied;
            const group = groupOf(source, name);
            uuidFormat = options.getUuidOption()?.hasStructured() ? 'structured' : 'string';
            const stream = sourceName(source);
            consumer = group.subscribe(
              {
                // The consumer's buffer size bounds what is in flight, so writes stay bounded too.
                deliver: (event, retryCount) => {
                  if (writer.open) call.write(eventMessage(event, retryCount, uuidFormat));
                },
                drop: (reason: DropReason) => writer.fail(dropError(reason, stream, name)),
              },
              options.getBufferSize(),
              connectionNameOf(call.metadata),
              call.getPeer(),
            );
            if (consumer === 'stopped') throw dropError('updated', stream, name);
            if (consumer === 'max_subscribers_reached') {
              throw groupError(grpc.status.FAILED_PRECONDITION, 'maximum-subscribers-reached', `Maximum subscriptions reached for ${subscriptionId(source, name)}.`, stream, name);
            }
            call.write(confirmationMessage(subscriptionId(source, name)));
            return;
          }
          if (typeof consumer !== 'object') throw invalidArgument('options must be sent first');
          if (request.hasAck()) {
            consumer.ack(request.getAck()!.getIdsList().map((id) => parseUuid(id, 'ack id')));
          } else if (request.hasNack()) {
            const nack = request.getNack()!;
            const action = NACK_ACTIONS[nack.getAction()] ?? 'unknown';
            consumer.nack(nack.getIdsList().map((id) => parseUuid(id, 'nack id')), action, nack.getReason());
          }
        } catch (error) {
          writer.fail(toServiceError(error));
          leave();
        }
      });
    },
  };

  return {
    definition: serviceDefinition(),
    implementation,
    supportedMethods: SUPPORTED_METHODS,
    async close() {
      closing = true;
      await registry.close();
      for (const writer of openCalls) writer.fail(serverShuttingDown());
      openCalls.clear();
    },
  };
}

/** The client's definition, except that Read sends event messages encoded in advance and
 * decodes acks and nacks itself. */
function serviceDefinition(): grpc.ServiceDefinition {
  const definition = persistentGrpc.PersistentSubscriptionsService as unknown as grpc.ServiceDefinition;
  const read = definition.read!;
  const serialize = read.responseSerialize as (value: unknown) => Buffer;
  const deserialize = read.requestDeserialize as (bytes: Buffer) => unknown;
  return {
    ...definition,
    read: {
      ...read,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)),
      requestDeserialize: (bytes: Buffer) => decodeAckOrNack(bytes) ?? deserialize(bytes),
    },
  };
}

function dropError(reason: DropReason, stream: string, group: string) {
  if (reason === 'shutdown') return serverShuttingDown();
  return groupError(grpc.status.CANCELLED, 'persistent-subscription-dropped', `Subscription group ${group} on stream ${stream} was ${reason}.`, stream, group);
}

function connectionNameOf(metadata: grpc.Metadata): string {
  const value = metadata.get('connection-name')[0];
  return typeof value === 'string' ? value : value ? value.toString('utf8') : '';
}
