// What the code paths use of OpenTelemetry: the API only (@opentelemetry/api), never the SDK.
// The SDK is set up at the composition root (src/observability/tracing.ts, from src/main.ts);
// until then every span is the API's no-op one. `tracingEnabled()` lets the hottest paths (one
// call per delivered event) skip even building attributes when nothing would record them, and
// `unsampledParent()` lets every span site skip the SDK altogether inside a trace that a
// parent-based sampler has already decided not to keep (99 of 100 requests at 1%).
import { TraceFlags, context, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = 'order-store';

let enabled = false;
let parentBased = false;
let cached: Tracer | undefined;

export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Called by the SDK set-up (and its shutdown); nothing else flips it. `parentBased`: the sampler
 * follows a parent's decision (OTEL_TRACES_SAMPLER parentbased_*), so a child of an unsampled
 * span is never sampled and need not be started at all.
 */
export function setTracingEnabled(value: boolean, options: { parentBased?: boolean } = {}): void {
  enabled = value;
  parentBased = value && options.parentBased === true;
  cached = undefined;
}

/** The service's tracer, resolved again after each set-up or shutdown (a provider registered later is used). */
export function tracer(): Tracer {
  return (cached ??= trace.getTracer(TRACER_NAME));
}

/**
 * The span of `parent` (the active context by default) when it belongs to a trace the sampler
 * dropped and the sampler is parent-based: every span started under it would be a non-recording
 * one, so callers run their work under it as it is (the decision travels on in it), building no
 * span, no attributes and no context. Undefined otherwise (a span is worth starting).
 */
export function unsampledParent(parent: Context = context.active()): Span | undefined {
  if (!parentBased) return undefined;
  const span = trace.getSpan(parent);
  if (span === undefined || span.isRecording()) return undefined;
  return (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0 ? span : undefined;
}

/** Whether the parent-based fast paths apply (for a context read from an event's metadata). */
export function followsParent(): boolean {
  return parentBased;
}
