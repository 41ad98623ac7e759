// ServerFeatures.GetSupportedMethods: the client decides from this list which RPCs it may use
// (BatchAppend, persistent subscriptions to $all, ...), so it lists exactly what is served.
import type * as grpc from '@grpc/grpc-js';
import featuresGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import featuresPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type { ServiceModule, SupportedMethod } from './service-module.js';

/** The EventStoreDB version whose protocol this server speaks. */
export const SERVER_VERSION = '23.10.0';

const OWN_METHOD: SupportedMethod = { serviceName: 'event_store.client.server_features.serverfeatures', methodName: 'getsupportedmethods' };

export function createServerFeaturesService(modules: ServiceModule[]): ServiceModule {
  const implementation: grpc.UntypedServiceImplementation = {
    getSupportedMethods(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<InstanceType<typeof featuresPb.SupportedMethods>>) {
      // The server lists this module among `modules` too: each method once.
      const unique = new Map([...modules.flatMap((module) => module.supportedMethods), OWN_METHOD].map((method) => [`${method.serviceName}/${method.methodName}`, method]));
      const methods = [...unique.values()].map((method) =>
        new featuresPb.SupportedMethod()
          .setServiceName(method.serviceName)
          .setMethodName(method.methodName)
          .setFeaturesList(method.features ?? []),
      );
      callback(null, new featuresPb.SupportedMethods().setEventStoreServerVersion(SERVER_VERSION).setMethodsList(methods));
    },
  };
  return {
    definition: featuresGrpc.ServerFeaturesService as unknown as grpc.ServiceDefinition,
    implementation,
    supportedMethods: [OWN_METHOD],
  };
}
