// The handler model: an EventHandler reacts to order events; each registered handler becomes
// its own persistent subscription group, so one handler's failures never hold up another.
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { OrderEventType } from '../orders/events.js';
import type { EventEnvelope } from '../readmodels/event-envelope.js';
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';
import type { EmittedEvent } from './emit.js';

export interface HandlerContext {
  /** The handler's name (also its subscription group's). */
  readonly handler: string;
  /** Aborted when the handler runs over its timeout: pass it to fetch and other I/O. */
  readonly signal: AbortSignal;
  /** Carries the event id, type and correlation id. */
  readonly logger: Logger;
  /** 1 on first delivery, then 2, 3, ... on retries. */
  readonly attempt: number;
  /** For reads of the handler's own tables; write through `transaction`. */
  readonly store: ReadModelStore;
  /** For reads of other streams (e.g. an order's creation). */
  readonly client: EventStoreDBClient;
  /**
   * The delivery's trace context (undefined: tracing off). The handler starts in it; a store or
   * provider call made after an `await` runs in it through `inContext` (src/observability/trace-api.ts).
   */
  readonly traceContext?: Context | undefined;
  /**
   * Runs the handler's writes in one read-model transaction together with the record that this
   * event was handled, so a redelivery has no second effect. Call it once, as the last step.
   */
  transaction<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T>;
  /**
   * As `transaction` for writes that are the handler's last step and need not be committed
   * before it returns (nothing outside the store follows them): they join the runner's one
   * commit of the turn, with the record that this event was handled, instead of committing on
   * their own. The event counts as handled, and is acked, once that commit is done. Call it once,
   * as the last step, instead of `transaction`.
   */
  record(fn: (tx: ReadModelTx) => Promise<void> | void): void;
  /** Appends events caused by this one: `$causationId` = this event's id, same `$correlationId`. */
  emit(stream: string, events: readonly EmittedEvent[]): Promise<void>;
}

export interface EventHandler {
  handle(event: EventEnvelope, context: HandlerContext): Promise<void> | void;
}

export interface HandlerOptions {
  /** Per-handler timeout of one event (ms). */
  timeoutMs?: number;
  /** Retries before parking. */
  maxRetries?: number;
  /** Events this handler works on at once, per worker. */
  maxInFlight?: number;
}

/**
 * Events of other groups a handler takes note of in passing: each event of these types that a
 * group of the same process parses (the projections group parses every order event) is handed
 * to `note` before any group works on it: once, unless a group far behind the others parses it
 * again after the shared envelope cache forgot it (so `note` must be idempotent). For facts the handler would otherwise read from
 * the store (the WhatsApp handler keeps each order's customer from its `order.created`, instead
 * of reading the order's stream at its first status change). Best effort: another worker
 * process may have received the event, so a handler must do without the note; `note` must not
 * throw (what it throws is logged) and must not wait.
 */
export interface HandlerNotices {
  types: readonly OrderEventType[];
  note(event: EventEnvelope): void;
}

export interface HandlerDefinition {
  /** Stable: names the subscription group and the idempotency records. */
  name: string;
  handles: readonly OrderEventType[];
  handler: EventHandler;
  /** Idempotent DDL for tables the handler writes in the read-model store. */
  schema?: string;
  options?: HandlerOptions;
  notices?: HandlerNotices;
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** One declaration per handler. */
export function defineHandler(definition: {
  name: string;
  handles: readonly OrderEventType[];
  schema?: string;
  options?: HandlerOptions;
  notices?: HandlerNotices;
  handle: EventHandler['handle'];
}): HandlerDefinition {
  const { handle, ...rest } = definition;
  return validate({ ...rest, handler: { handle } });
}

function validate(definition: HandlerDefinition): HandlerDefinition {
  if (!NAME.test(definition.name)) throw new Error(`handler name '${definition.name}' must be lower-case words joined by '-'`);
  if (definition.handles.length === 0) throw new Error(`handler '${definition.name}' handles no event type`);
  return definition;
}

/**
 * `registerHandler('order.status_changed', new OrderNotificationHandler())`: registering the
 * same handler for more types widens its one group; a different handler gets its own group.
 */
export class HandlerRegistry {
  readonly #byHandler = new Map<EventHandler, HandlerDefinition>();

  registerHandler(
    eventType: OrderEventType | readonly OrderEventType[],
    handler: EventHandler,
    options: HandlerOptions & { name?: string; schema?: string } = {},
  ): this {
    const types = typeof eventType === 'string' ? [eventType] : [...eventType];
    const existing = this.#byHandler.get(handler);
    if (existing) {
      const handles = [...new Set([...existing.handles, ...types])];
      this.#byHandler.set(handler, { ...existing, handles });
      return this;
    }
    const { name, schema, ...handlerOptions } = options;
    const definition = validate({
      name: name ?? kebabCase(handler.constructor.name),
      handles: types,
      handler,
      ...(schema !== undefined ? { schema } : {}),
      options: handlerOptions,
    });
    if (this.definitions().some((other) => other.name === definition.name)) {
      throw new Error(`two handlers are named '${definition.name}': pass { name } to tell them apart`);
    }
    this.#byHandler.set(handler, definition);
    return this;
  }

  /** Adds a declaration made with defineHandler. */
  add(definition: HandlerDefinition): this {
    if (this.definitions().some((other) => other.name === definition.name)) {
      throw new Error(`two handlers are named '${definition.name}'`);
    }
    this.#byHandler.set(definition.handler, definition);
    return this;
  }

  definitions(): HandlerDefinition[] {
    return [...this.#byHandler.values()];
  }
}

function kebabCase(name: string): string {
  return name
    .replace(/Handler$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
