// What the code paths use of OpenTelemetry: the API only (@opentelemetry/api), never the SDK.
// The SDK is set up at the composition root (src/observability/tracing.ts, from src/main.ts);
// until then every span is the API's no-op one. `tracingEnabled()` lets the hottest paths (one
// call per delivered event) skip even building attributes when nothing would record them.
import { trace, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = 'order-store';

let enabled = false;

export function tracingEnabled(): boolean {
  return enabled;
}

/** Called by the SDK set-up (and its shutdown); nothing else flips it. */
export function setTracingEnabled(value: boolean): void {
  enabled = value;
}

/** The service's tracer: resolved through the global provider each time, so a provider registered later is used. */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
