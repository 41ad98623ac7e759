// Spans of one order command: `command <Type>` around it (waiting for the order's turn
// included), with `order.load` and `order.decide` inside, and the client's `streams.append`
// (esdb-instrumentation.ts) under it. Refusals (an illegal transition, a stale If-Match, a
// conflict) are answers, not faults: they are named in `error.type` with the status left unset;
// anything else sets status ERROR. Inside a request the sampler dropped, none of them is started:
// the request's unsampled span stays the parent of what follows.
//
// `run` gets `within`: it runs a step in the command's context (its span's, or the dropped one it
// was called in), the explicit hand-over of that context past the command's `await`s (the wait for
// the order's turn, the load before the append: trace-api.ts says why nothing else carries it).
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import { tracer, tracingEnabled, unsampledParent } from './trace-api.js';

/** Runs `fn` in the command's trace context. */
export type InCommandContext = <T>(fn: () => T) => T;

const asItIs: InCommandContext = (fn) => fn();
const inContextOf = (active: Context): InCommandContext => (fn) => context.with(active, fn);

export interface CommandSpanResult {
  revision: bigint | undefined;
  events: readonly unknown[];
}

export function traceCommand<R extends CommandSpanResult>(commandType: string, stream: string, run: (within: InCommandContext) => Promise<R>): Promise<R> {
  if (!tracingEnabled()) return run(asItIs);
  const parent = context.active();
  if (unsampledParent(parent)) return run(inContextOf(parent));
  return tracer().startActiveSpan(
    `command ${commandType}`,
    { kind: SpanKind.INTERNAL },
    parent,
    async (span) => {
      const within = inContextOf(trace.setSpan(parent, span));
      if (!span.isRecording()) return run(within).finally(() => span.end());
      span.setAttributes({ 'order_store.command': commandType, [STREAM]: stream });
      try {
        const result = await run(within);
        span.setAttribute('order_store.events_appended', result.events.length);
        if (result.revision !== undefined) span.setAttribute('order_store.revision', String(result.revision));
        if (result.events.length === 0) span.setAttribute('order_store.idempotent', true);
        return result;
      } catch (error) {
        recordError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** A step of the command (load, decide) as a child span; `attempt` counts conflict retries. */
export function traceStep<T>(name: string, attempt: number, run: () => T): T {
  if (!tracingEnabled() || unsampledParent()) return run();
  return tracer().startActiveSpan(name, { kind: SpanKind.INTERNAL }, (span) => {
    span.setAttribute('order_store.attempt', attempt);
    let result: T;
    try {
      result = run();
    } catch (error) {
      recordError(span, error);
      span.end();
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          recordError(span, error);
          span.end();
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

const STREAM = 'db.eventstoredb.stream';
/** The command's answers that are not faults (src/orders/order-errors.ts, src/eventstore/errors.ts). */
const REFUSALS = new Set(['OrderError', 'PreconditionFailedError', 'ConcurrencyConflictError', 'OrderHistoryTruncatedError']);

function recordError(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof Error && REFUSALS.has(error.name) && typeof code === 'string') {
    span.setAttribute('error.type', code);
    return;
  }
  span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
