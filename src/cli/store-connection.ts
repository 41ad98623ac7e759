// Opens the event store for a subcommand and fails fast, in one line, when it is unreachable:
// an operator typing a command should not wait for gRPC's reconnect back-off.
import { EventStoreDBClient, BACKWARDS, END, isCommandError } from '@eventstore/db-client';
import { traceCliCommand } from '../observability/cli-tracing.js';
import { CliError } from './cli-error.js';
import { withoutPassword } from '../eventstore/connection.js';
import { useNativeProtobufBase64 } from '../eventstore/protobuf-bytes.js';
import { useFastBatchAppendReplyDecoder } from '../eventstore/batch-append-reply-decoder.js';
import { useFastPersistentReadDecoder } from '../eventstore/persistent-read-decoder.js';

/** How long the first call may take before the store counts as unreachable. */
export const REACH_DEADLINE_MS = 3_000;

export interface StoreConnection {
  client: EventStoreDBClient;
  connectionString: string;
  close(): Promise<void>;
}

export async function connectStore(connectionString: string): Promise<StoreConnection> {
  let client: EventStoreDBClient;
  useNativeProtobufBase64();
  useFastPersistentReadDecoder();
  useFastBatchAppendReplyDecoder();
  try {
    client = EventStoreDBClient.connectionString(connectionString);
  } catch (err) {
    throw new CliError(`invalid ESDB_CONNECTION_STRING '${withoutPassword(connectionString)}': ${messageOf(err)}`);
  }
  try {
    // Reading the newest event of $all proves the store answers; the deadline bounds a silent host.
    // Read to the end of the call: leaving a read early can keep the client's dispose() pending.
    for await (const _ of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, deadline: REACH_DEADLINE_MS })) continue;
  } catch (err) {
    disposeQuietly(client);
    throw new CliError(`cannot reach the event store at ${withoutPassword(connectionString)}: ${reasonOf(err)}`);
  }
  return {
    client,
    connectionString,
    close: async () => disposeQuietly(client),
  };
}

/**
 * Closes the client's channels without waiting: the client's dispose() promise can stay pending
 * after the channels are gone, and awaiting it would leave a command's result unprinted.
 */
function disposeQuietly(client: EventStoreDBClient): void {
  client.dispose().catch(() => undefined);
}

/** Runs `work` with a connected store and always disposes of the client, so the process can exit. */
export async function withStore<T>(connectionString: string, work: (store: StoreConnection) => Promise<T>): Promise<T> {
  // With OTEL_* set, the command is a trace of its own (its reads as client spans); the SDK is
  // loaded only then (each subcommand loads only what it needs).
  const tracing = asksForTraces() ? (await import('../observability/tracing.js')).startTracing(process.env, { asyncContext: true }) : undefined;
  try {
    const store = await connectStore(connectionString);
    try {
      return await traceCliCommand(subcommandName(), () => work(store));
    } finally {
      await store.close().catch(() => undefined);
    }
  } finally {
    await tracing?.shutdown();
  }
}

/** Whether any variable that can turn tracing on is set (startTracing decides the rest). */
function asksForTraces(): boolean {
  return ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_TRACES_EXPORTER'].some((name) => process.env[name]?.trim());
}

function subcommandName(): string | undefined {
  const name = process.argv[2];
  return name && /^[a-z][a-z-]*$/.test(name) ? name : undefined;
}

function reasonOf(err: unknown): string {
  if (err instanceof Error && isCommandError(err)) return `${err.type}: ${firstLine(err.message)}`;
  return firstLine(messageOf(err));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
