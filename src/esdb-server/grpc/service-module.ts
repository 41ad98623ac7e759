import type * as grpc from '@grpc/grpc-js';
import type { EventLog } from '../log/types.js';
import type { CallAuthorization } from '../auth/acl.js';

/** What every gRPC service of the embedded server hands to the server assembly. */
export interface ServiceModule {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** Methods advertised through ServerFeatures.GetSupportedMethods. */
  supportedMethods: SupportedMethod[];
  /** Ends live calls (subscriptions) and timers before the server shuts down. */
  close?(): Promise<void> | void;
}

export interface SupportedMethod {
  serviceName: string; // e.g. 'event_store.client.streams.streams' (lower-case, as EventStoreDB)
  methodName: string; // lower-case, e.g. 'batchappend'
  features?: string[];
}

export interface ServerContext {
  log: EventLog;
  host: string;
  port: number;
  /** Largest total size of one append in bytes (EventStoreDB's MaxAppendSize, default 1,048,576). */
  maxAppendSize: number;
  /** This node's id, the same in gRPC gossip and the HTTP /gossip and /info. */
  instanceId: string;
  /** Who may do what (auth/acl.ts); absent on an insecure store, where everything is allowed. */
  authorization?: CallAuthorization;
}
