// A stored event as the history and trace commands show it: the domain event when it is one of
// ours (upcast and validated), its correlation/causation metadata, and where it was stored.
// An event that fails its schema is still shown, raw, so an operator can see what is wrong.
import type { RecordedEvent } from '@eventstore/db-client';
import { EventSchemaError, parseOrderEvent, type OrderEvent } from '../orders/index.js';

export interface DecodedEvent {
  id: string;
  stream: string;
  revision: bigint;
  /** Commit position in $all, when the store reported it. */
  position: bigint | undefined;
  type: string;
  /** When the store wrote it. */
  recordedAt: Date;
  /** The domain event, or undefined when the type is not an order event or its data is invalid. */
  orderEvent: OrderEvent | undefined;
  /** Why `orderEvent` is undefined for an order-event type. */
  invalid: string | undefined;
  data: unknown;
  metadata: Record<string, unknown>;
  correlationId: string | undefined;
  causationId: string | undefined;
  commandId: string | undefined;
}

export function decodeRecordedEvent(event: RecordedEvent): DecodedEvent {
  const metadata = isRecord(event.metadata) ? event.metadata : {};
  let orderEvent: OrderEvent | undefined;
  let invalid: string | undefined;
  try {
    orderEvent = parseOrderEvent(event.type, event.data, metadata);
  } catch (err) {
    if (!(err instanceof EventSchemaError)) throw err;
    if (err.issues.join() !== 'unknown event type') invalid = err.message;
  }
  return {
    id: event.id,
    stream: event.streamId,
    revision: event.revision,
    position: event.position?.commit,
    type: event.type,
    recordedAt: event.created,
    orderEvent,
    invalid,
    data: event.data,
    metadata,
    correlationId: stringField(metadata, '$correlationId'),
    causationId: stringField(metadata, '$causationId'),
    commandId: stringField(metadata, 'commandId'),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
