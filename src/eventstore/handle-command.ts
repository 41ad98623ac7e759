// Runs one order command: load, decide, append with the expected revision. Commands on one
// order in this process take turns (so they never conflict with each other); without a caller's
// expected revision, a write by another process is retried on fresh state a few times.
import { WrongExpectedVersionError, type EventStoreDBClient } from '@eventstore/db-client';
import { decide } from '../orders/order-decider.js';
import { foldOrder, initialOrderState, type OrderState } from '../orders/order-state.js';
import { toNewEvents } from '../orders/event-factory.js';
import { orderKey, orderStreamName } from '../orders/stream-names.js';
import type { OrderCommand } from '../orders/commands.js';
import type { OrderEvent } from '../orders/events.js';
import { commandConflictsTotal } from '../observability/metrics.js';
import { traceCommand, traceStep, type InCommandContext } from '../observability/command-tracing.js';
import { ConcurrencyConflictError, PreconditionFailedError } from './errors.js';
import { appendOrderEvents, loadOrder, type LoadedOrder } from './order-stream.js';
import { OrderTurns, type OrderStateCache } from './order-state-cache.js';

export interface CommandDeps {
  client: EventStoreDBClient;
  cache?: OrderStateCache;
}

export interface CommandOptions {
  /** From If-Match: append only if the stream is at this revision, else PreconditionFailedError. */
  expectedRevision?: bigint;
  /** Attempts in all when other writers move the stream concurrently. */
  maxAttempts?: number;
  /** Called just before each append; throwing abandons the command with nothing appended (an HTTP request's deadline). */
  beforeAppend?: () => void;
}

export interface CommandResult {
  state: OrderState;
  /** The stream's revision after the command. */
  revision: bigint | undefined;
  /** What the command appended; empty when it was an idempotent replay. */
  events: OrderEvent[];
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/** The turns of callers that keep no cache (each cache keeps its own, one per API instance). */
const sharedTurns = new OrderTurns();

export function handleOrderCommand(deps: CommandDeps, command: OrderCommand, options: CommandOptions = {}): Promise<CommandResult> {
  const turns = deps.cache?.turns ?? sharedTurns;
  // By tenant too: stream names may carry the tenant, and two tenants' ids never share a queue.
  const run = (within: InCommandContext) => turns.run(`${command.context.tenantId}\u0000${command.orderId}`, () => runCommand(deps, command, options, within));
  // The span covers the wait for the order's turn too: a queue behind a slow command shows.
  return traceCommand(command.type, orderStreamName(orderKey(command.context.tenantId, command.orderId)), run);
}

// `within` runs each step in the command's trace context (command-tracing.ts).
async function runCommand(deps: CommandDeps, command: OrderCommand, options: CommandOptions, within: InCommandContext): Promise<CommandResult> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  // Keyed by tenant and id: the same order id in two tenants is two orders, two streams.
  const orderId = orderKey(command.context.tenantId, command.orderId);
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // A cached state is only trusted on the first attempt and only to try the append. With a
    // cache, a create for an id it has never seen is tried as a brand-new stream without reading:
    // the append's no-stream expectation catches the rare id that exists after all.
    const cached = attempt === 1 && options.expectedRevision === undefined ? (deps.cache?.get(orderId) ?? assumedNew(deps, command)) : undefined;
    let loaded: LoadedOrder = cached ?? (await within(() => traceStep('order.load', attempt, () => loadOrder(deps.client, orderId))));
    let events: OrderEvent[];
    try {
      checkPrecondition(command, loaded, options.expectedRevision);
      events = within(() => traceStep('order.decide', attempt, () => decide(command, loaded.state)));
      if (cached && events.length === 0) throw new StaleCacheSuspected();
    } catch (error) {
      if (!cached) throw error;
      // Refusals and replays are answered from the stream itself, never from memory.
      loaded = await within(() => traceStep('order.load', attempt, () => loadOrder(deps.client, orderId)));
      events = within(() => traceStep('order.decide', attempt, () => decide(command, loaded.state)));
    }
    if (events.length === 0) return { state: loaded.state, revision: loaded.revision, events };

    options.beforeAppend?.();
    try {
      const revision = await within(() => appendOrderEvents(deps.client, orderId, toNewEvents(events, command.context), options.expectedRevision ?? loaded.revision));
      const state = foldOrder(events, loaded.state);
      deps.cache?.set(orderId, { state, revision });
      return { state, revision, events };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      deps.cache?.delete(orderId);
      if (options.expectedRevision !== undefined) {
        throw new PreconditionFailedError(orderStreamName(orderId), options.expectedRevision, toRevision(error.actualVersion));
      }
      commandConflictsTotal.inc({ outcome: attempt < maxAttempts ? 'retried' : 'gave_up' });
      // Jitter spreads writers that collided so they do not collide again in lockstep.
      await delay(Math.random() * 3 * attempt);
    }
  }
  throw new ConcurrencyConflictError(orderStreamName(orderId), maxAttempts);
}

/** If-Match applies only to an order the caller can see: anything else answers as the decider says. */
function checkPrecondition(command: OrderCommand, loaded: LoadedOrder, expectedRevision: bigint | undefined): void {
  if (expectedRevision === undefined || !loaded.state.exists || loaded.state.tenantId !== command.context.tenantId) return;
  if (loaded.revision !== expectedRevision) {
    throw new PreconditionFailedError(orderStreamName(orderKey(command.context.tenantId, command.orderId)), expectedRevision, loaded.revision);
  }
}

class StaleCacheSuspected extends Error {}

const NEW_ORDER: LoadedOrder = { state: initialOrderState, revision: undefined };

function assumedNew(deps: CommandDeps, command: OrderCommand): LoadedOrder | undefined {
  return deps.cache && command.type === 'CreateOrder' ? NEW_ORDER : undefined;
}

function toRevision(version: unknown): bigint | undefined {
  return typeof version === 'bigint' ? version : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
