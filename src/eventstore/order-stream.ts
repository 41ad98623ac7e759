// Load an order by folding its stream; append its new events with an expected revision.
//
// Orders are keyed by tenant and id (`order-<tenantId>-<orderId>`, see src/orders/stream-names.ts).
// Stores written before tenant-scoped names hold `order-<orderId>`: a compatibility read, not a
// migration. An order is looked for in its tenant's stream first; when that does not exist, in
// `order-<orderId>`, which counts only when its events belong to the same tenant (another
// tenant's legacy order is invisible, as if it did not exist). Such an order keeps living in its
// legacy stream: later events are appended there, nothing is copied. A create the command cache
// tries without reading checks for a legacy order of that id only in a store whose first order
// stream is a legacy one (a store this version started never pays for that read).
import { FORWARDS, NO_STREAM, START, StreamNotFoundError, WrongExpectedVersionError, type EventStoreDBClient } from '@eventstore/db-client';
import { foldOrder, initialOrderState, type OrderState } from '../orders/order-state.js';
import { legacyOrderStreamName, orderStreamName, parseOrderKey, parseOrderStreamName, type OrderKey } from '../orders/stream-names.js';
import { isOrderEventType } from '../orders/events.js';
import type { NewOrderEvent } from '../orders/event-factory.js';
import { eventsPublishedTotal } from '../observability/metrics.js';
import { fromRecordedEvent, toEventData, type StoredOrderEvent } from './event-serialization.js';
import { OrderHistoryTruncatedError } from './errors.js';
import { activeContext, inContext } from '../observability/trace-api.js';

export interface LoadedOrder {
  state: OrderState;
  /** The stream's last revision; undefined when the stream does not exist. */
  revision: bigint | undefined;
}

export interface OrderStream {
  /** The order's events this version knows, oldest first. */
  events: StoredOrderEvent[];
  /** The stream's last revision, counting every event; undefined when the stream does not exist. */
  revision: bigint | undefined;
  /** The stream the order lives in (its tenant's, or a legacy `order-<orderId>`). */
  streamName: string;
}

/** Keys whose order lives in a legacy stream (a fact that never changes once seen). */
const legacyKeys = new Set<OrderKey>();
const legacyProbes = new WeakMap<EventStoreDBClient, Promise<boolean>>();

/** Reads the order of `key` (`<tenantId>-<orderId>`, see orderKey()). */
export async function readOrderStream(client: EventStoreDBClient, key: OrderKey): Promise<OrderStream> {
  const own = orderStreamName(key);
  if (!legacyKeys.has(key)) {
    const found = await readStreamEvents(client, own);
    if (found.revision !== undefined) return { ...found, streamName: own };
  }
  const legacy = await readLegacyOrder(client, key);
  return legacy ?? { events: [], revision: undefined, streamName: own };
}

export async function loadOrder(client: EventStoreDBClient, key: OrderKey): Promise<LoadedOrder> {
  const { events, revision } = await readOrderStream(client, key);
  return { state: foldOrder(events.map((entry) => entry.event), initialOrderState), revision };
}

/**
 * Appends all events atomically if the stream is still at `expectedRevision` (undefined: the
 * stream must not exist). Throws the client's WrongExpectedVersionError otherwise (also when a
 * new order's id is taken by this tenant's order in a legacy stream). Returns the new revision.
 */
export async function appendOrderEvents(
  client: EventStoreDBClient,
  key: OrderKey,
  events: readonly NewOrderEvent[],
  expectedRevision: bigint | undefined,
): Promise<bigint> {
  // Its caller's trace context, handed over to the append past the legacy probe's `await`.
  const traced = activeContext();
  let streamName = orderStreamName(key);
  if (legacyKeys.has(key)) {
    streamName = legacyOrderStreamName(parseOrderKey(key)!.orderId);
  } else if (expectedRevision === undefined && (await holdsLegacyOrderStreams(client)) && (await readLegacyOrder(client, key))) {
    // A create tried without reading (the command cache assumes a new id is new): the order
    // exists in a legacy stream, so the caller reloads and decides again.
    throw new WrongExpectedVersionError(undefined, { streamName, expected: NO_STREAM, current: 0n });
  }
  const result = await inContext(traced, () =>
    client.appendToStream(streamName, events.map(toEventData), {
      expectedRevision: expectedRevision ?? NO_STREAM,
    }),
  );
  for (const { event } of events) eventsPublishedTotal.inc({ event_type: event.type });
  return result.nextExpectedRevision;
}

async function readStreamEvents(client: EventStoreDBClient, streamName: string): Promise<Omit<OrderStream, 'streamName'>> {
  const events: StoredOrderEvent[] = [];
  let revision: bigint | undefined;
  let firstRevision: bigint | undefined;
  try {
    // Read to the end even when the start is missing: a read left early can keep the client's
    // dispose() waiting (seen with the 6.x client).
    for await (const resolved of client.readStream(streamName)) {
      if (!resolved.event) continue;
      firstRevision ??= resolved.event.revision;
      revision = resolved.event.revision;
      // A type this version does not know was written by a newer one: it cannot change what this
      // version decides, so it is skipped rather than failing every command on the order.
      if (isOrderEventType(resolved.event.type)) events.push(fromRecordedEvent(resolved.event));
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return { events: [], revision: undefined };
    throw error;
  }
  if (firstRevision !== undefined && firstRevision > 0n) throw new OrderHistoryTruncatedError(streamName, firstRevision);
  return { events, revision };
}

/** The key's order in its legacy stream, when there is one and it is this tenant's. */
async function readLegacyOrder(client: EventStoreDBClient, key: OrderKey): Promise<OrderStream | undefined> {
  const parsed = parseOrderKey(key);
  if (!parsed) return undefined;
  const streamName = legacyOrderStreamName(parsed.orderId);
  const found = await readStreamEvents(client, streamName);
  const created = found.events.find((entry) => entry.event.type === 'order.created');
  if (found.revision === undefined || created?.event.data.tenantId !== parsed.tenantId) return undefined;
  legacyKeys.add(key);
  return { ...found, streamName };
}

/**
 * Whether the store was written by a version before tenant-scoped stream names: its first order
 * stream in $all (looked for among the first 10,000 events) is a legacy one. Asked once per client; a store this version created never
 * holds legacy streams, so it never pays for the second read.
 */
export function holdsLegacyOrderStreams(client: EventStoreDBClient): Promise<boolean> {
  let probe = legacyProbes.get(client);
  if (!probe) {
    probe = firstOrderStreamIsLegacy(client).then((answer) => {
      // No order yet: asked again next time (the first order may be a legacy one written since).
      if (answer === undefined) legacyProbes.delete(client);
      return answer ?? false;
    });
    legacyProbes.set(client, probe);
    // A failed probe (store unreachable) is asked again next time.
    probe.catch(() => legacyProbes.delete(client));
  }
  return probe;
}

async function firstOrderStreamIsLegacy(client: EventStoreDBClient): Promise<boolean | undefined> {
  let answer: boolean | undefined;
  // Read to the end of each page (no early return): an abandoned read keeps its call open.
  for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: START, maxCount: 10_000 })) {
    if (answer !== undefined || !resolved.event) continue;
    const parsed = parseOrderStreamName(resolved.event.streamId);
    if (parsed && isOrderEventType(resolved.event.type)) answer = parsed.tenantId === undefined;
  }
  return answer;
}
