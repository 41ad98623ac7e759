// The trace context an event carries in its metadata, in the keys EventStoreDB's own client
// instrumentation (@eventstore/opentelemetry) writes and reads: `$traceId` and `$spanId` of the
// span that appended it. Its span names and attribute keys are kept here too, so a trace of this
// service reads like one of any other EventStoreDB client instrumented with it.
import { TraceFlags, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

export const TRACE_ID_KEY = '$traceId';
export const SPAN_ID_KEY = '$spanId';

/** Span names of @eventstore/opentelemetry. */
export const APPEND_SPAN = 'streams.append';
export const SUBSCRIBE_SPAN = 'streams.subscribe';

/** Attribute keys of @eventstore/opentelemetry (src/attributes.ts), plus the messaging ones. */
export const EsdbAttributes = {
  DATABASE_SYSTEM: 'db.system',
  DATABASE_OPERATION: 'db.operation',
  DATABASE_USER: 'db.user',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  STREAM: 'db.eventstoredb.stream',
  SUBSCRIPTION_ID: 'db.eventstoredb.subscription.id',
  EVENT_ID: 'db.eventstoredb.event.id',
  EVENT_TYPE: 'db.eventstoredb.event.type',
} as const;

export const DB_SYSTEM = 'eventstoredb';

/** The appending span's context written into an event's metadata (only for a sampled span). */
export function withTraceContext<M extends Record<string, unknown>>(metadata: M, context: SpanContext): M {
  return { ...metadata, [TRACE_ID_KEY]: context.traceId, [SPAN_ID_KEY]: context.spanId };
}

/**
 * The appending span's context from an event's metadata, as a remote parent. As
 * @eventstore/opentelemetry: marked sampled, because only a sampled append writes it here.
 */
export function traceContextOf(metadata: unknown): SpanContext | undefined {
  if (typeof metadata !== 'object' || metadata === null || metadata instanceof Uint8Array) return undefined;
  const record = metadata as Record<string, unknown>;
  const traceId = record[TRACE_ID_KEY];
  const spanId = record[SPAN_ID_KEY];
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
  const context: SpanContext = { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(context) ? context : undefined;
}
