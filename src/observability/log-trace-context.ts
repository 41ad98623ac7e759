// The active span's ids for each log line (pino's mixin): `trace_id`, `span_id` and
// `trace_flags`, the names OpenTelemetry's log data model and pino's own instrumentation use.
// Nothing when no span is active (tracing off: the API's context is always empty). A new object
// each time: pino merges the line's own fields into what the mixin returns.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';

export function traceContextFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!isSpanContextValid({ traceId, spanId, traceFlags })) return {};
  return { trace_id: traceId, span_id: spanId, trace_flags: traceFlags.toString(16).padStart(2, '0') };
}
