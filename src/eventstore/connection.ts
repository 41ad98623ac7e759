// The one way the service opens EventStoreDB: a connection string, embedded or real.
import { EventStoreDBClient, StreamNotFoundError } from '@eventstore/db-client';
import { trackWrites } from './write-health.js';
import { countAppends } from './append-queue.js';
import { useNativeProtobufBase64 } from './protobuf-bytes.js';
import { useFastBatchAppendReplyDecoder } from './batch-append-reply-decoder.js';
import { useFastPersistentReadDecoder } from './persistent-read-decoder.js';

export type { EventStoreDBClient };

export function connectEventStore(connectionString: string): EventStoreDBClient {
  return instrumented(EventStoreDBClient.connectionString(connectionString));
}

/**
 * This process's own embedded store, on its local socket (`unix:<path>`, see
 * esdb-server/local-socket.ts): the same client and protocol, without TLS or credentials (the
 * socket is this OS user's alone, and acts as the store's admin).
 */
export function connectEmbeddedEventStore(localEndpoint: string): EventStoreDBClient {
  return instrumented(new EventStoreDBClient({ endpoint: localEndpoint }, { insecure: true }));
}

function instrumented(client: EventStoreDBClient): EventStoreDBClient {
  // Every append reports to the store's write health, which /ready reads (write-health.ts), and
  // is counted in the client's append queue, which the API's load shedding reads (append-queue.ts).
  // The client's messages decode event data with Node's base64 decoder (protobuf-bytes.ts), and
  // its persistent subscriptions' deliveries and its appends' replies with decoders of our own
  // (persistent-read-decoder.ts, batch-append-reply-decoder.ts).
  useNativeProtobufBase64();
  useFastPersistentReadDecoder();
  useFastBatchAppendReplyDecoder();
  return countAppends(trackWrites(client));
}

/** The connection string as it may be shown or logged: the password replaced by `***`. */
export function withoutPassword(connectionString: string): string {
  return connectionString.replace(/^(esdb(?:\+discover)?:\/\/[^:@/]+):[^@/]*@/, '$1:***@');
}

/** A stream nobody writes: reading it proves the store answers without touching real data. */
const PROBE_STREAM = 'order-store-readiness-probe';

/** True when the store answers a read within the timeout. */
export async function isEventStoreReachable(client: EventStoreDBClient, timeoutMs = 2_000): Promise<boolean> {
  try {
    for await (const _event of client.readStream(PROBE_STREAM, { maxCount: 1, deadline: timeoutMs })) break;
    return true;
  } catch (error) {
    return error instanceof StreamNotFoundError;
  }
}
