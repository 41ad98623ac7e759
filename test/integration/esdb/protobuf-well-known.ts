// google.protobuf Empty and Timestamp from the copy of google-protobuf the client's generated
// code uses (its serializers check instanceof against those very classes).
import { createRequire } from 'node:module';

const requireFromGenerated = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client/generated/streams_pb.js'));

interface TimestampClass {
  fromDate(date: Date): never;
}

export const Empty = (requireFromGenerated('google-protobuf/google/protobuf/empty_pb.js') as { Empty: new () => never }).Empty;
export const Timestamp = (requireFromGenerated('google-protobuf/google/protobuf/timestamp_pb.js') as { Timestamp: TimestampClass }).Timestamp;
