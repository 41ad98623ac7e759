// The client's own generated message classes. Replies must be built from these very classes:
// the grpc-js serializers of the service definitions check `instanceof` against them.
import { createRequire } from 'node:module';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';

export { sharedPb, streamsPb, statusPb };

/** google.protobuf.Any, loaded from the copy of google-protobuf the generated code itself uses. */
export interface AnyMessage {
  pack(serialized: Uint8Array, name: string, typeUrlPrefix?: string): void;
}
const requireFromGenerated = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client/generated/status_pb.js'));
const anyModule = requireFromGenerated('google-protobuf/google/protobuf/any_pb.js') as { Any: new () => AnyMessage };
export const AnyMessageClass = anyModule.Any;
