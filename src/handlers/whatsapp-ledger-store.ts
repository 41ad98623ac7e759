// Loads a message's ledger stream and appends what the decider decides, with the revision read
// (NO_STREAM for a message never seen), so two writers on any hosts cannot both claim an attempt:
// the loser reads what the winner wrote and decides again.
//
// Event ids are random, never derived from the cause: EventStoreDB takes an append whose ids
// are already in the stream as an idempotent success, which would let a second worker "win" a
// claim the first one made, and send.
import { randomUUID } from 'node:crypto';
import { FORWARDS, NO_STREAM, START, StreamNotFoundError, WrongExpectedVersionError, jsonEvent, type EventStoreDBClient, type JSONType } from '@eventstore/db-client';
import { ConcurrencyConflictError } from '../eventstore/errors.js';
import { decide, evolve, initialState, type WhatsAppCommand, type WhatsAppMessageState } from './whatsapp-ledger.js';
import { parseWhatsAppEvent, type WhatsAppEvent } from './whatsapp-ledger-events.js';
import type { Context } from '@opentelemetry/api';
import { inContext } from '../observability/trace-api.js';
import { metadataToSend } from '../eventstore/event-serialization.js';

export interface LoadedMessage {
  state: WhatsAppMessageState;
  /** The stream's last revision; undefined when it does not exist. */
  revision: bigint | undefined;
  /** `$correlationId` of its first event: later decisions (webhooks, operators) join that trace. */
  correlationId: string | undefined;
  lastEventId: string | undefined;
}

export interface Decided extends LoadedMessage {
  /** What this call appended (none when the decider had nothing to add). */
  appended: WhatsAppEvent[];
}

/** Who writes, for the metadata: `$correlationId`/`$causationId` default to the stream's own. */
export interface LedgerWriter {
  actor: string;
  correlationId?: string;
  causationId?: string;
  /** Carried along (W3C trace context of the cause). */
  traceparent?: string;
  /** The trace context the writes run in (a delivery's), handed over past the writer's `await`s. */
  traceContext?: Context | undefined;
}

const MAX_CONFLICTS = 5;

export async function loadMessage(client: EventStoreDBClient, stream: string): Promise<LoadedMessage> {
  let state = initialState;
  let revision: bigint | undefined;
  let correlationId: string | undefined;
  let lastEventId: string | undefined;
  try {
    for await (const resolved of client.readStream(stream, { direction: FORWARDS, fromRevision: START })) {
      const recorded = resolved.event;
      if (!recorded) continue;
      revision = recorded.revision;
      lastEventId = recorded.id;
      correlationId ??= stringField(recorded.metadata, '$correlationId');
      const event = parseWhatsAppEvent(recorded.type, recorded.data);
      if (event) state = evolve(state, event);
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return { state, revision, correlationId, lastEventId };
}

/**
 * Decides `command` on the stream's state and appends the outcome at that revision, again on a
 * conflict. `assumeNew` tries the append as the stream's first without reading (most messages
 * are new), `known` at a state the caller just appended itself; when the stream has moved
 * since, it reads and decides again.
 */
export async function decideOnLedger(
  client: EventStoreDBClient,
  stream: string,
  command: WhatsAppCommand,
  writer: LedgerWriter,
  options: { assumeNew?: boolean; known?: LoadedMessage } = {},
): Promise<Decided> {
  let loaded: LoadedMessage = options.known ?? { state: initialState, revision: undefined, correlationId: undefined, lastEventId: undefined };
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    if (round > 0 || !(options.assumeNew || options.known)) loaded = await inContext(writer.traceContext, () => loadMessage(client, stream));
    const events = decide(command, loaded.state);
    if (events.length === 0) return { ...loaded, appended: [] };
    // As bytes, one encoding for the append's events (event-serialization.ts says why).
    const fields = metadataFor(writer, loaded, events[0]!.data.tenantId);
    const metadata = metadataToSend(fields);
    const ids = events.map(() => randomUUID());
    try {
      const result = await inContext(writer.traceContext, () =>
        client.appendToStream(
          stream,
          events.map((event, index) => jsonEvent({ id: ids[index]!, type: event.type, data: event.data as unknown as JSONType, metadata })),
          { expectedRevision: loaded.revision ?? NO_STREAM },
        ),
      );
      return {
        state: events.reduce(evolve, loaded.state),
        revision: result.nextExpectedRevision,
        correlationId: loaded.correlationId ?? (fields.$correlationId as string | undefined),
        lastEventId: ids.at(-1),
        appended: events,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      // Another writer moved the message first: decide again on what it wrote.
    }
  }
  throw new ConcurrencyConflictError(stream, MAX_CONFLICTS);
}

function metadataFor(writer: LedgerWriter, loaded: LoadedMessage, tenantId: string): Record<string, string> {
  const correlationId = writer.correlationId ?? loaded.correlationId;
  const causationId = writer.causationId ?? loaded.lastEventId;
  return {
    ...(correlationId ? { $correlationId: correlationId } : {}),
    ...(causationId ? { $causationId: causationId } : {}),
    tenantId,
    actor: writer.actor,
    ...(writer.traceparent ? { traceparent: writer.traceparent } : {}),
  };
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' && field.length > 0 ? field : undefined;
}
