// The ids of a recorded span on each log line: `trace_id`, `span_id` and `trace_flags`, the names
// OpenTelemetry's log data model and pino's own instrumentation use. Two ways in:
// - bindings of a logger made for one traced unit of work (`bindTraceContext`: an HTTP request's
//   logger, a delivery's), so its lines carry them whenever they are written, after any `await`;
// - pino's mixin, for any other logger, from the active context (set for the synchronous run of
//   `context.with`: trace-api.ts), skipped for a logger that has them bound already.
// Only a sampled span's ids: an unsampled trace is recorded nowhere, so its ids lead nowhere.
// Nothing when tracing is off (the API's context is always empty).
import { TraceFlags, context, isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';

const BOUND = Symbol('order-store.trace-bound');
const NONE: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** pino's mixin: a new object each time (pino merges the line's own fields into it). */
export function traceContextFields(_mergeObject?: object, _level?: number, logger?: object): Record<string, string> {
  if (logger !== undefined && (logger as { [BOUND]?: true })[BOUND] === true) return {};
  const span = trace.getSpan(context.active());
  if (!span) return {};
  return { ...fieldsOf(span.spanContext()) };
}

/** A child of `logger` whose lines carry `spanContext`'s ids (the logger itself when it is not sampled). */
export function bindTraceContext<L extends { child(bindings: Record<string, string>): unknown }>(logger: L, spanContext: SpanContext | undefined): L {
  const fields = spanContext ? fieldsOf(spanContext) : NONE;
  if (fields === NONE) return logger;
  const child = logger.child(fields) as L;
  (child as unknown as { [BOUND]: true })[BOUND] = true;
  return child;
}

function fieldsOf({ traceId, spanId, traceFlags }: SpanContext): Record<string, string> {
  if ((traceFlags & TraceFlags.SAMPLED) === 0 || !isSpanContextValid({ traceId, spanId, traceFlags })) return NONE;
  return { trace_id: traceId, span_id: spanId, trace_flags: traceFlags.toString(16).padStart(2, '0') };
}
