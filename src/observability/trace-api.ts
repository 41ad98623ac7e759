// What the code paths use of OpenTelemetry: the API only (@opentelemetry/api), never the SDK.
// The SDK is set up at the composition root (src/observability/tracing.ts, from src/main.ts);
// until then every span is the API's no-op one. `tracingEnabled()` lets the hottest paths (one
// call per delivered event) skip even building attributes when nothing would record them, and
// `unsampledParent()` lets every span site skip the SDK altogether inside a trace that a
// parent-based sampler has already decided not to keep (99 of 100 requests at 1%).
//
// How the active context travels (`CallContextManager`): on Node 20, an AsyncLocalStorage (the
// SDK's default context manager) turns on async_hooks' promise hooks for the whole process once
// it is first used, so every promise of every request pays for it, sampled or not (the lifecycle
// load ran at ~0.8x with it at 1%, the cost spread over all the code). The service instead sets
// the active context only for the synchronous run of `context.with(...)`, and its own code carries
// a context across `await`s explicitly: the HTTP request keeps its context on the request
// (http-tracing.ts), a command hands its span's to its load, decide and append (command-tracing.ts),
// a delivery hands its own to the handler (its client, its provider calls: delivery-tracing.ts).
// Every span site reads `context.active()` synchronously where it is called, so each of those
// runs the call inside its context. Where AsyncLocalStorage costs nothing (Node >= 24 runs it on
// AsyncContextFrame) and for one-shot CLI commands, the SDK's AsyncLocalStorage manager is used
// instead, and the explicit hand-overs work the same under it.
//
// A root span (`startSpan` with a parent that has none) under a sampler whose root decision reads
// the trace id alone (traceidratio, always_off; set up by tracing.ts) is decided here first: the
// ids are drawn from a pool of random bytes, and a dropped root (99 of 100 at 1%) is the API's
// non-recording span of those ids, without the SDK's span machinery; a kept one is started by the
// SDK with the trace id that was decided on (`takeDrawnTraceId`, its id generator), so the trace
// is the one the sampler would have kept.
import { randomFillSync } from 'node:crypto';
import { ROOT_CONTEXT, TraceFlags, context, isSpanContextValid, trace, type Context, type ContextManager, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = 'order-store';

let enabled = false;
let parentBased = false;
let dropsRoots = false;
let cached: Tracer | undefined;
/** Whether the sampler keeps a root of this trace id; undefined: the SDK decides every root. */
let keepsRoot: ((traceId: string) => boolean) | undefined;
let drawnTraceId: string | undefined;

export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Called by the SDK set-up (and its shutdown); nothing else flips it. `parentBased`: the sampler
 * follows a parent's decision (OTEL_TRACES_SAMPLER parentbased_*), so a child of an unsampled
 * span is never sampled and need not be started at all.
 */
export function setTracingEnabled(value: boolean, options: { parentBased?: boolean; keepsRoot?: (traceId: string) => boolean; dropsRoots?: boolean } = {}): void {
  enabled = value;
  parentBased = value && options.parentBased === true;
  dropsRoots = parentBased && options.dropsRoots === true;
  keepsRoot = value ? options.keepsRoot : undefined;
  drawnTraceId = undefined;
  cached = undefined;
}

/**
 * A span of the service's tracer under `parent`. A root (no valid span in `parent`) is decided
 * here when the sampler's root decision is known (see above); `name` is called only for a span
 * the SDK starts.
 */
export function startSpan(name: string | (() => string), options: SpanOptions, parent: Context): Span {
  if (keepsRoot !== undefined && !hasValidSpan(parent)) {
    const traceId = newTraceId();
    if (!keepsRoot(traceId)) return trace.wrapSpanContext({ traceId, spanId: newSpanId(), traceFlags: TraceFlags.NONE });
    drawnTraceId = traceId;
    try {
      return tracer().startSpan(typeof name === 'string' ? name : name(), options, parent);
    } finally {
      drawnTraceId = undefined;
    }
  }
  return tracer().startSpan(typeof name === 'string' ? name : name(), options, parent);
}

function hasValidSpan(parent: Context): boolean {
  const spanContext = trace.getSpanContext(parent);
  return spanContext !== undefined && isSpanContextValid(spanContext);
}

/** For the SDK's id generator: the trace id `startSpan` decided to keep, once; else undefined. */
export function takeDrawnTraceId(): string | undefined {
  const traceId = drawnTraceId;
  drawnTraceId = undefined;
  return traceId;
}

// Random ids from a pool of random bytes, refilled as it runs out (one refill per ~340 roots).
const pool = Buffer.allocUnsafe(8_192);
let taken = pool.length;
const ZEROS = /^0+$/;

function randomHex(bytes: number): string {
  for (;;) {
    if (taken + bytes > pool.length) {
      randomFillSync(pool);
      taken = 0;
    }
    const hex = pool.toString('hex', taken, (taken += bytes));
    if (!ZEROS.test(hex)) return hex;
  }
}

/** A random W3C trace id (32 hex digits, never all zeros). */
export const newTraceId = (): string => randomHex(16);
/** A random W3C span id (16 hex digits, never all zeros). */
export const newSpanId = (): string => randomHex(8);

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

/**
 * Whether the sampler is parent-based and its root drops some traces (a ratio below 1,
 * always_off): the decision is made once, where a request enters (HTTP, the CLI). A root it
 * dropped writes no trace context into its events (nothing is stored to say so: most requests at
 * 1%), so under it an event that carries none is handled untraced (`untracedContext`), never
 * sampled afresh as an orphan trace of its own.
 */
export function dropsUntraced(): boolean {
  return dropsRoots;
}

/**
 * A trace this process dropped itself (a root its sampler dropped, or the context an untraced
 * event is handled in), not a caller's: nothing of it needs to travel in events. A caller's
 * unsampled context (remote) does, so that the caller's trace id goes on to the provider calls.
 */
export function droppedHere(span: Span): boolean {
  return span.spanContext().isRemote !== true;
}

/** A fresh context of a dropped trace of this process's own: work in it starts no span. */
export function untracedContext(): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: newTraceId(), spanId: newSpanId(), traceFlags: TraceFlags.NONE });
}

/**
 * The active context as a slot set for the synchronous run of `with` and restored when it
 * returns (or throws): nothing is kept across an `await`, and nothing leaks into unrelated work
 * (a callback that runs later sees the root context). No async_hooks, no per-promise cost.
 */
export class CallContextManager implements ContextManager {
  #active: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.#active;
    this.#active = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = previous;
    }
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const run = (self: unknown, args: unknown[]) => this.with(ctx, () => fn.apply(self, args));
    return function (this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = ROOT_CONTEXT;
    return this;
  }
}

/**
 * Whether AsyncLocalStorage runs on AsyncContextFrame here (Node >= 24 by default, Node 22 with
 * --experimental-async-context-frame): no promise hooks, so the SDK's context manager is cheap.
 */
export function asyncContextFrameActive(version = process.versions.node, flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`): boolean {
  const major = Number(version.split('.')[0]);
  if (major >= 24) return !flags.includes('--no-async-context-frame');
  return major >= 22 && flags.includes('--experimental-async-context-frame');
}

/** The active context to hand over past an `await` (`inContext`); undefined when tracing is off. */
export function activeContext(): Context | undefined {
  return enabled ? context.active() : undefined;
}

/** Runs `fn` with `ctx` active (undefined: as it is); the explicit hand-over across an `await`. */
export function inContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx === undefined ? fn() : context.with(ctx, fn);
}
