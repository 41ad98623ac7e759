// Domain events to EventStoreDB events and back. Reading upcasts and validates through the
// catalogue, so every consumer sees current schemas.
import { jsonEvent, type EventData, type JSONType, type MetadataType, type RecordedEvent } from '@eventstore/db-client';
import { parseOrderEvent, parseOrderEventMetadata, type OrderEvent, type OrderEventMetadata } from '../orders/events.js';
import type { NewOrderEvent } from '../orders/event-factory.js';

export function toEventData(newEvent: NewOrderEvent): EventData {
  return jsonEvent({
    id: newEvent.id,
    type: newEvent.event.type,
    data: newEvent.event.data as JSONType,
    metadata: metadataToSend(newEvent.metadata),
  });
}

const utf8 = new TextEncoder();
/** The bytes of each metadata object already encoded (one command's events share one object). */
const encoded = new WeakMap<object, Uint8Array>();

/** The UTF-8 bytes of `value`'s JSON, as a plain Uint8Array (what the client sends as it is). */
export function jsonUtf8(value: object): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/**
 * Event metadata as the client sends it. Handed an object, @eventstore/db-client stringifies it,
 * base64-encodes the text, and protobuf decodes that base64 back to bytes each time it
 * serialises the message (twice per event; in JavaScript one byte at a time unless Node's
 * decoder is installed, protobuf-bytes.ts): handed the UTF-8 bytes of the same JSON, it sends
 * them as they are, and the stored metadata is the same. With tracing on, the client's
 * instrumentation splices the trace context into these bytes (they stay bytes).
 */
export function metadataToSend(metadata: object): MetadataType {
  let bytes = encoded.get(metadata);
  if (!bytes) {
    bytes = jsonUtf8(metadata);
    encoded.set(metadata, bytes);
  }
  return bytes;
}

/** An order event as stored: the domain event plus where and when it was written. */
export interface StoredOrderEvent {
  id: string;
  streamName: string;
  revision: bigint;
  position: { commit: bigint; prepare: bigint } | undefined;
  created: Date;
  event: OrderEvent;
  /** Undefined when the event was written without this service's metadata. */
  metadata: OrderEventMetadata | undefined;
  /** The metadata exactly as stored. */
  rawMetadata: unknown;
}

export function fromRecordedEvent(recorded: RecordedEvent): StoredOrderEvent {
  const data = recorded.isJson ? recorded.data : decodeJson(recorded.data as Uint8Array);
  const rawMetadata = recorded.metadata instanceof Uint8Array ? decodeJson(recorded.metadata) : recorded.metadata;
  return {
    id: recorded.id,
    streamName: recorded.streamId,
    revision: recorded.revision,
    position: recorded.position,
    created: recorded.created,
    event: parseOrderEvent(recorded.type, data, rawMetadata),
    metadata: parseOrderEventMetadata(rawMetadata),
    rawMetadata,
  };
}

function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
