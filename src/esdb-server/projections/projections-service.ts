// The Projections gRPC service (event_store.client.projections.Projections), served from the
// client's own generated definitions. Create advertises `track_emitted_streams`, so the client
// sends every call over gRPC (without it createProjection would fall back to the HTTP API).
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import projectionsGrpc from '@eventstore/db-client/generated/projections_grpc_pb.js';
import projectionsPb from '@eventstore/db-client/generated/projections_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type { ServiceModule, SupportedMethod } from '../grpc/service-module.js';
import { invalidArgument, rpcError, toRpcError } from '../grpc/rpc-errors.js';
import { ProjectionError, type ProjectionsManager, type ProjectionSummary } from './manager.js';
import { refuseOperation, type CallAuthorization, type ServerOperation } from '../auth/acl.js';

// google.protobuf.Value as the generated messages know it (their serializer checks instanceof).
const structPb = createRequire(import.meta.resolve('@eventstore/db-client/generated/projections_pb.js'))('google-protobuf/google/protobuf/struct_pb.js') as {
  Value: { fromJavaScript(value: unknown): unknown };
};

const SERVICE_NAME = 'event_store.client.projections.projections';

export const PROJECTIONS_METHODS: SupportedMethod[] = [
  { serviceName: SERVICE_NAME, methodName: 'create', features: ['track_emitted_streams'] },
  ...['update', 'delete', 'statistics', 'disable', 'enable', 'reset', 'state', 'result', 'restartsubsystem'].map((methodName) => ({ serviceName: SERVICE_NAME, methodName })),
];

type Call<Request> = grpc.ServerUnaryCall<Request, unknown>;
type Reply = grpc.sendUnaryData<unknown>;
type Pb = typeof projectionsPb;

/** `authorization`: who may do what (auth/acl.ts); absent on an insecure store. */
export function createProjectionsService(manager: ProjectionsManager, authorization?: CallAuthorization): ServiceModule {
  const unary =
    <Request>(operation: ServerOperation, work: (request: Request) => Promise<unknown> | unknown) =>
    (call: Call<Request>, callback: Reply) => {
      Promise.resolve()
        .then(() => {
          const denied = refuseOperation(authorization, call, operation);
          if (denied) throw denied;
          return work(call.request);
        })
        .then((reply) => callback(null, reply), (error: unknown) => callback(toProjectionRpcError(error)));
    };

  const implementation: grpc.UntypedServiceImplementation = {
    create: unary('projections.create', async (request: InstanceType<Pb['CreateReq']>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('CreateReq needs options');
      const query = options.getQuery();
      if (options.hasContinuous()) {
        const continuous = options.getContinuous()!;
        await manager.create({ mode: 'Continuous', name: continuous.getName(), query, emitEnabled: continuous.getEmitEnabled(), trackEmittedStreams: continuous.getTrackEmittedStreams() });
      } else if (options.hasTransient()) {
        await manager.create({ mode: 'Transient', name: options.getTransient()!.getName(), query });
      } else {
        await manager.create({ mode: 'OneTime', query });
      }
      return new projectionsPb.CreateResp();
    }),
    update: unary('projections.update', async (request: InstanceType<Pb['UpdateReq']>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('UpdateReq needs options');
      await manager.update(options.getName(), options.getQuery(), options.hasEmitEnabled() ? options.getEmitEnabled() : undefined);
      return new projectionsPb.UpdateResp();
    }),
    delete: unary('projections.delete', async (request: InstanceType<Pb['DeleteReq']>) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument('DeleteReq needs options');
      await manager.delete(options.getName(), {
        deleteEmittedStreams: options.getDeleteEmittedStreams(),
        deleteStateStream: options.getDeleteStateStream(),
        deleteCheckpointStream: options.getDeleteCheckpointStream(),
      });
      return new projectionsPb.DeleteResp();
    }),
    enable: unary('projections.enable', async (request: InstanceType<Pb['EnableReq']>) => {
      await manager.enable(request.getOptions()?.getName() ?? '');
      return new projectionsPb.EnableResp();
    }),
    disable: unary('projections.disable', async (request: InstanceType<Pb['DisableReq']>) => {
      const options = request.getOptions();
      await manager.disable(options?.getName() ?? '', options?.getWriteCheckpoint() ?? true);
      return new projectionsPb.DisableResp();
    }),
    reset: unary('projections.reset', async (request: InstanceType<Pb['ResetReq']>) => {
      await manager.reset(request.getOptions()?.getName() ?? '');
      return new projectionsPb.ResetResp();
    }),
    state: unary('projections.read', (request: InstanceType<Pb['StateReq']>) => {
      const options = request.getOptions();
      const state = manager.state(options?.getName() ?? '', options?.getPartition() ?? '');
      const reply = new projectionsPb.StateResp();
      if (state !== undefined) reply.setState(structPb.Value.fromJavaScript(state) as never);
      return reply;
    }),
    result: unary('projections.read', (request: InstanceType<Pb['ResultReq']>) => {
      const options = request.getOptions();
      const result = manager.result(options?.getName() ?? '', options?.getPartition() ?? '');
      const reply = new projectionsPb.ResultResp();
      if (result !== undefined) reply.setResult(structPb.Value.fromJavaScript(result) as never);
      return reply;
    }),
    restartSubsystem: unary('projections.restart', async () => {
      await manager.restartSubsystem();
      return new sharedPb.Empty();
    }),
    statistics(call: grpc.ServerWritableStream<InstanceType<Pb['StatisticsReq']>, unknown>) {
      try {
        const denied = refuseOperation(authorization, call, 'projections.read');
        if (denied) throw denied;
        const options = call.request.getOptions();
        let summaries: ProjectionSummary[];
        if (options?.hasName()) summaries = [manager.status(options.getName())];
        else if (options?.hasContinuous()) summaries = manager.list('Continuous');
        else if (options?.hasOneTime()) summaries = manager.list('OneTime');
        else if (options?.hasTransient()) summaries = manager.list('Transient');
        else summaries = manager.list('all');
        for (const summary of summaries) call.write(new projectionsPb.StatisticsResp().setDetails(details(summary)));
        call.end();
      } catch (error) {
        // grpc-js sends a server stream's status from an 'error' event.
        call.emit('error', toProjectionRpcError(error));
      }
    },
  };

  return {
    definition: projectionsGrpc.ProjectionsService as unknown as grpc.ServiceDefinition,
    implementation,
    supportedMethods: PROJECTIONS_METHODS,
    close: () => manager.close(),
  };
}

function details(summary: ProjectionSummary) {
  const position = summary.position < 0 ? '' : `C:${summary.position}/P:${summary.position}`;
  return new projectionsPb.StatisticsResp.Details()
    .setCoreprocessingtime('0')
    .setVersion(String(summary.version))
    .setEpoch(String(summary.epoch))
    .setEffectivename(summary.name)
    .setWritesinprogress(0)
    .setReadsinprogress(0)
    .setPartitionscached(summary.partitionsCached)
    .setStatus(summary.status)
    .setStatereason(summary.reason)
    .setName(summary.name)
    .setMode(summary.mode === 'System' ? 'Continuous' : summary.mode)
    .setPosition(position)
    .setProgress(summary.progress)
    .setLastcheckpoint(position)
    .setEventsprocessedafterrestart(String(summary.eventsProcessedAfterRestart))
    .setCheckpointstatus('')
    .setBufferedevents('0')
    .setWritependingeventsbeforecheckpoint(0)
    .setWritependingeventsaftercheckpoint(0);
}

function toProjectionRpcError(error: unknown) {
  if (error instanceof ProjectionError) {
    const code = {
      not_found: grpc.status.NOT_FOUND,
      already_exists: grpc.status.ALREADY_EXISTS,
      invalid: grpc.status.INVALID_ARGUMENT,
      precondition: grpc.status.FAILED_PRECONDITION,
    }[error.code];
    return rpcError(code, error.message);
  }
  return toRpcError(error);
}
