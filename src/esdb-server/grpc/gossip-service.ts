// Gossip.Read: a cluster of one, this server as an alive leader, so `esdb+discover://` works.
import type * as grpc from '@grpc/grpc-js';
import gossipGrpc from '@eventstore/db-client/generated/gossip_grpc_pb.js';
import gossipPb from '@eventstore/db-client/generated/gossip_pb.js';
import type { ServerContext, ServiceModule } from './service-module.js';
import { sharedPb } from './protocol.js';

export function createGossipService(context: ServerContext): ServiceModule {
  const implementation: grpc.UntypedServiceImplementation = {
    read(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<InstanceType<typeof gossipPb.ClusterInfo>>) {
      const member = new gossipPb.MemberInfo()
        .setInstanceId(new sharedPb.UUID().setString(context.instanceId))
        // .NET ticks, as EventStoreDB reports them.
        .setTimeStamp(String(BigInt(Date.now()) * 10_000n))
        .setState(gossipPb.MemberInfo.VNodeState.LEADER)
        .setIsAlive(true)
        .setHttpEndPoint(new gossipPb.EndPoint().setAddress(context.host).setPort(context.port));
      callback(null, new gossipPb.ClusterInfo().setMembersList([member]));
    },
  };
  return {
    definition: gossipGrpc.GossipService as unknown as grpc.ServiceDefinition,
    implementation,
    supportedMethods: [{ serviceName: 'event_store.client.gossip.gossip', methodName: 'read' }],
  };
}
