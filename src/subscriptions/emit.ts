// Events a handler appends in reaction to another: `$causationId` is the causing event, the
// `$correlationId` carries on. Ids derive from the cause, so a redelivered cause re-sends the
// same ids and EventStoreDB's idempotent append writes them once.
import { createHash } from 'node:crypto';
import { jsonEvent, type EventStoreDBClient, type JSONType } from '@eventstore/db-client';
import { eventsPublishedTotal } from '../observability/metrics.js';
import type { EventEnvelope } from '../readmodels/event-envelope.js';
import { metadataToSend } from '../eventstore/event-serialization.js';

export interface EmittedEvent {
  type: string;
  data: Record<string, unknown>;
}

export function reactionEventId(handler: string, causeId: string, index: number): string {
  const hex = createHash('sha1').update(`${handler}:${causeId}:${index}`).digest('hex');
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

export function reactionMetadata(handler: string, cause: EventEnvelope): Record<string, string> {
  return {
    $correlationId: cause.correlationId,
    $causationId: cause.id,
    tenantId: cause.data.tenantId,
    actor: `handler:${handler}`,
    ...(cause.metadata?.traceparent ? { traceparent: cause.metadata.traceparent } : {}),
  };
}

export async function emitReaction(
  client: EventStoreDBClient,
  handler: string,
  cause: EventEnvelope,
  stream: string,
  events: readonly EmittedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  // As the bytes of its JSON (one encoding for the append's events), not an object the client would
  // base64-encode and protobuf decode again twice per event (event-serialization.ts).
  const metadata = metadataToSend(reactionMetadata(handler, cause));
  await client.appendToStream(
    stream,
    events.map((event, index) =>
      jsonEvent({ id: reactionEventId(handler, cause.id, index), type: event.type, data: event.data as JSONType, metadata }),
    ),
  );
  for (const event of events) eventsPublishedTotal.inc({ event_type: event.type });
}
