// One span per event delivered to a persistent subscription group (a handler or a projection):
// EventStoreDB's `streams.subscribe` consumer span, but lasting as long as the group works on the
// event. Its parent and its link are the span that appended the event (from the event's
// metadata), so the handling shows in the command's trace. Retries, parks and timeouts are span
// events; a failed attempt ends with status ERROR. An event whose append the sampler dropped
// in a caller's trace (`$traceparent` with flags 00) gets no span under a parent-based sampler:
// the group's work runs in the dropped context (its appends and provider calls follow the drop),
// and nothing is built for it but that context. Nor does an event without trace context under a
// sampler that drops roots (its request was dropped where it entered: trace-api.ts,
// `dropsUntraced`): its work runs in a fresh dropped context.
//
// The group's work starts in the delivery's context (`inDeliverySpan`); past its `await`s the work
// hands `context` over itself (the handler runner, a handler's store and provider calls:
// trace-api.ts says why nothing else carries it), and the delivery's logger binds a recorded
// span's ids (`spanContext`).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Attributes, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import type { PersistentSubscriptionToAllResolvedEvent } from '@eventstore/db-client';
import { redactPhoneNumbers } from '../handlers/whatsapp-redact.js';
import { DB_SYSTEM, EsdbAttributes, SUBSCRIBE_SPAN, TRACE_ID_KEY, TRACEPARENT_KEY, traceContextOf } from './esdb-trace-context.js';
import { dropsUntraced, followsParent, startSpan, tracingEnabled, untracedContext } from './trace-api.js';

export interface DeliverySpan {
  /** The span's context: the group's work on the event runs in it. */
  readonly context: Context;
  /** A recorded span's ids, for the delivery's log lines; undefined when nothing is recorded. */
  readonly spanContext?: SpanContext;
  processed(outcome: string): void;
  /** `decision`: what the runner does next (retry after a delay, or park). */
  failed(error: unknown, decision: { action: 'retry'; delayMs: number } | { action: 'park'; reason: string }, timedOut: boolean): void;
}

const ignore = (): void => undefined;

/**
 * The delivery of an event whose append the sampler dropped, under a parent-based sampler: no
 * span, only the dropped context to run the work in. One object per dropped append, shared by
 * every group it reaches and every event of that append (a few recent ones are kept), so a
 * delivery costs a lookup and allocates nothing.
 */
const droppedDeliveries = new Map<string, DeliverySpan>();
const DROPPED_KEPT = 1_024;

function droppedDelivery(metadata: unknown): DeliverySpan | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const record = metadata as Record<string, unknown>;
  const traceparent = record[TRACEPARENT_KEY];
  if (typeof traceparent !== 'string' || !traceparent.endsWith('-00') || record[TRACE_ID_KEY] !== undefined) return undefined;
  const known = droppedDeliveries.get(traceparent);
  if (known) return known;
  const appended = traceContextOf(record);
  if (!appended || (appended.traceFlags & TraceFlags.SAMPLED) !== 0) return undefined;
  if (droppedDeliveries.size >= DROPPED_KEPT) droppedDeliveries.clear();
  const delivery: DeliverySpan = { context: trace.setSpanContext(ROOT_CONTEXT, appended), processed: ignore, failed: ignore };
  droppedDeliveries.set(traceparent, delivery);
  return delivery;
}

/** Undefined when tracing is off: the consumer then does nothing more than before. */
export function startDeliverySpan(group: string, label: string, resolved: PersistentSubscriptionToAllResolvedEvent, retries: number): DeliverySpan | undefined {
  if (!tracingEnabled()) return undefined;
  const recorded = resolved.event;
  const dropped = followsParent() ? droppedDelivery(recorded?.metadata) : undefined;
  if (dropped) return dropped;
  const appended = traceContextOf(recorded?.metadata);
  // No trace context: its append was dropped here (or written untraced), so its handling is not
  // traced either, under a sampler that drops roots; the work runs in a dropped context of its own.
  if (!appended && dropsUntraced()) return { context: untracedContext(), processed: ignore, failed: ignore };
  // Never the subscription's own context (whatever was active when it was opened).
  const parent = appended ? trace.setSpanContext(ROOT_CONTEXT, appended) : ROOT_CONTEXT;
  const span = startSpan(SUBSCRIBE_SPAN, { kind: SpanKind.CONSUMER, ...(appended ? { links: [{ context: appended }] } : {}) }, parent);
  const active = trace.setSpan(parent, span);
  if (!span.isRecording()) return { context: active, processed: ignore, failed: ignore };
  const attributes: Attributes = {
    [EsdbAttributes.DATABASE_SYSTEM]: DB_SYSTEM,
    [EsdbAttributes.DATABASE_OPERATION]: 'subscribeToPersistentSubscriptionToAll',
    [EsdbAttributes.SUBSCRIPTION_ID]: group,
    'messaging.system': DB_SYSTEM,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.consumer.group.name': group,
    'order_store.handler': label,
    'messaging.eventstoredb.retry_count': retries,
  };
  if (recorded) {
    attributes[EsdbAttributes.STREAM] = recorded.streamId;
    attributes[EsdbAttributes.EVENT_ID] = recorded.id;
    attributes[EsdbAttributes.EVENT_TYPE] = recorded.type;
    attributes['messaging.destination.name'] = recorded.streamId;
    attributes['messaging.message.id'] = recorded.id;
  }
  span.setAttributes(attributes);
  return {
    context: active,
    spanContext: span.spanContext(),
    processed(outcome) {
      span.setAttribute('order_store.outcome', outcome);
      span.end();
    },
    failed(error, decision, timedOut) {
      recordFailure(span, error, decision, timedOut);
      span.end();
    },
  };
}

/** Runs `fn` with the delivery's span active (so logs, appends and provider calls hang under it). */
export function inDeliverySpan<T>(span: DeliverySpan | undefined, fn: () => T): T {
  return span ? context.with(span.context, fn) : fn();
}

function recordFailure(span: Span, error: unknown, decision: { action: 'retry'; delayMs: number } | { action: 'park'; reason: string }, timedOut: boolean): void {
  const message = redactPhoneNumbers(error instanceof Error ? error.message : String(error));
  const type = error instanceof Error ? error.name : typeof error;
  span.addEvent('exception', { 'exception.type': type, 'exception.message': message });
  if (timedOut) span.addEvent('timeout', { 'exception.message': message });
  if (decision.action === 'retry') {
    span.addEvent('retry', { 'order_store.retry.delay_ms': decision.delayMs });
    span.setAttribute('order_store.outcome', 'retried');
  } else {
    span.addEvent('park', { 'order_store.park.reason': redactPhoneNumbers(decision.reason) });
    span.setAttribute('order_store.outcome', 'parked');
  }
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
