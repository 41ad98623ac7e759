// The trace context an event carries in its metadata, in the keys EventStoreDB's own client
// instrumentation (@eventstore/opentelemetry) writes and reads: `$traceId` and `$spanId` of the
// span that appended it. Its span names and attribute keys are kept here too, so a trace of this
// service reads like one of any other EventStoreDB client instrumented with it.
//
// That instrumentation reads `$traceId`/`$spanId` as a SAMPLED parent, so they are written only
// by a sampled append. An append in a caller's trace that the sampler dropped writes
// `$traceparent` instead (W3C form, flags 00): a consumer then follows the drop (a parent-based
// sampler starts no span for its deliveries) in the caller's trace id. An append whose own root
// this service dropped writes nothing (99 of 100 requests at 1%: nothing worth storing in the
// history for good); under a sampler that drops roots, a consumer handles an event without trace
// context untraced rather than sampling it afresh as an orphan trace (trace-api.ts, `dropsUntraced`).
import { INVALID_SPANID as INVALID_SPAN_ID, INVALID_TRACEID as INVALID_TRACE_ID, TraceFlags, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

export const TRACE_ID_KEY = '$traceId';
export const SPAN_ID_KEY = '$spanId';
/** An unsampled append's context, `00-<trace id>-<span id>-00`. */
export const TRACEPARENT_KEY = '$traceparent';

/** Span names of @eventstore/opentelemetry. */
export const APPEND_SPAN = 'streams.append';
export const SUBSCRIBE_SPAN = 'streams.subscribe';
/** Not one of that package's (it records no reads): named like its others. */
export const READ_SPAN = 'streams.read';

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

/** An unsampled append's context for its events' metadata. */
export function unsampledTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-00`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The appending span's context from an event's metadata, as a remote parent: sampled from
 * `$traceId`/`$spanId` (as @eventstore/opentelemetry reads them), or with its own flags from
 * `$traceparent` (an unsampled append of this service).
 */
export function traceContextOf(metadata: unknown): SpanContext | undefined {
  if (typeof metadata !== 'object' || metadata === null || metadata instanceof Uint8Array) return undefined;
  const record = metadata as Record<string, unknown>;
  const traceId = record[TRACE_ID_KEY];
  const spanId = record[SPAN_ID_KEY];
  if (typeof traceId === 'string' && typeof spanId === 'string') {
    const context: SpanContext = { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
    return isSpanContextValid(context) ? context : undefined;
  }
  const traceparent = record[TRACEPARENT_KEY];
  if (typeof traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(traceparent);
  // The expression has checked the digits: only the all-zero ids are left to refuse (the API's
  // isSpanContextValid would run two more expressions over them, at each dropped append a
  // consumer meets: delivery-tracing.ts).
  if (!match || match[1] === INVALID_TRACE_ID || match[2] === INVALID_SPAN_ID) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}
