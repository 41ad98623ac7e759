// What the order streams must show after any number of kills: every acknowledged command, each
// command's events whole (never a status-specific event without its order.status_changed twin),
// a status chain without gaps, and nothing written that no request asked for.
import { parseOrderEvent, type OrderEvent } from '../../src/orders/events.js';
import { foldOrder } from '../../src/orders/order-state.js';
import type { Ack } from './lifecycle-load.js';
import type { StoreHistory, StoredEvent } from './store-history.js';

/** The shapes the decider appends in one command; anything else is a torn or foreign append. */
const COMMAND_SHAPES = new Set(
  [
    ['order.created'],
    ['payment.processed'],
    ['payment.processed', 'order.paid', 'order.status_changed'],
    ['order.shipped', 'order.status_changed'],
    ['order.delivered', 'order.status_changed'],
    ['order.cancelled', 'order.status_changed'],
    ['order.returned', 'order.status_changed'],
    ['order.refunded', 'order.status_changed'],
  ].map((types) => types.join(' ')),
);

export interface StreamCounts {
  orders: number;
  orderEvents: number;
  commands: number;
  acksChecked: number;
}

export function verifyStreams(history: StoreHistory, acks: readonly Ack[], sentCorrelationIds: ReadonlySet<string>): { counts: StreamCounts; violations: string[] } {
  const violations: string[] = [];
  const counts: StreamCounts = { orders: history.orders.size, orderEvents: 0, commands: 0, acksChecked: 0 };

  for (const ack of acks) {
    counts.acksChecked++;
    const events = history.orders.get(ack.orderId) ?? [];
    const problem = ack.appended ? checkAppendedAck(ack, events) : checkReplayedAck(ack, events);
    if (problem) violations.push(`acknowledged ${ack.step} (${ack.statusCode}, correlation ${ack.correlationId}) of order ${ack.orderId}: ${problem}`);
  }

  for (const [orderId, events] of history.orders) {
    counts.orderEvents += events.length;
    const commands = groupByCommand(events);
    counts.commands += commands.length;
    for (const problem of checkOrderStream(events, commands, sentCorrelationIds)) violations.push(`order ${orderId}: ${problem}`);
  }
  return { counts, violations };
}

function checkAppendedAck(ack: Ack, events: readonly StoredEvent[]): string | undefined {
  const mine = events.filter((event) => sentCorrelationId(event) === ack.correlationId);
  if (mine.length === 0) return `its events are not in the stream (stream has ${events.length} events)`;
  const types = mine.map((event) => event.type).join(' ');
  if (types !== ack.appends.join(' ')) return `the stream holds [${types}] for it, the command appends [${ack.appends.join(' ')}]`;
  const last = mine[mine.length - 1]!.revision;
  if (last !== ack.revision) return `its last event is at revision ${last}, the answer said ${ack.revision}`;
  return undefined;
}

/** A 200 replay of a create or payment promises the earlier write is there, at or before the revision. */
function checkReplayedAck(ack: Ack, events: readonly StoredEvent[]): string | undefined {
  if (events.length <= ack.revision) return `the answer said revision ${ack.revision}, the stream ends at ${events.length - 1}`;
  const upTo = events.slice(0, ack.revision + 1);
  if (ack.step === 'create') return upTo[0]?.type === 'order.created' ? undefined : 'the stream does not start with order.created';
  if (ack.step === 'pay') {
    return upTo.some((event) => event.type === 'payment.processed' && event.data.paymentId === ack.paymentId)
      ? undefined
      : `payment ${ack.paymentId} is not in the stream up to revision ${ack.revision}`;
  }
  return 'only creates and payments answer without appending';
}

interface CommandGroup {
  commandId: string;
  events: StoredEvent[];
}

function groupByCommand(events: readonly StoredEvent[]): CommandGroup[] {
  const groups: CommandGroup[] = [];
  for (const event of events) {
    const commandId = String(event.metadata.commandId ?? `(no commandId: ${event.id})`);
    const last = groups[groups.length - 1];
    if (last && last.commandId === commandId) last.events.push(event);
    else groups.push({ commandId, events: [event] });
  }
  return groups;
}

function checkOrderStream(events: readonly StoredEvent[], commands: readonly CommandGroup[], sent: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  events.forEach((event, index) => {
    if (event.revision !== index) problems.push(`revision ${index} is missing (found ${event.revision})`);
  });
  const seen = new Set<string>();
  for (const command of commands) {
    const types = command.events.map((event) => event.type).join(' ');
    const at = command.events[0]!.revision;
    if (seen.has(command.commandId)) problems.push(`command ${command.commandId} is split around other commands (at revision ${at})`);
    seen.add(command.commandId);
    if (!COMMAND_SHAPES.has(types)) problems.push(`half-written or foreign append at revision ${at}: [${types}]`);
    const correlationIds = new Set(command.events.map((event) => String(event.metadata.$correlationId)));
    if (correlationIds.size !== 1) problems.push(`command ${command.commandId} mixes correlation ids ${[...correlationIds].join(', ')}`);
    for (const event of command.events) {
      const given = sentCorrelationId(event);
      if (given === undefined) problems.push(`revision ${event.revision} carries correlation id ${String(event.metadata.$correlationId)}, not scoped to its tenant`);
      else if (!sent.has(given)) problems.push(`revision ${event.revision} carries correlation id ${given}, which no request of the soak sent`);
    }
  }
  let status = 'PENDING';
  const parsed: OrderEvent[] = [];
  for (const event of events) {
    try {
      parsed.push(parseOrderEvent(event.type, event.data, event.metadata));
    } catch (error) {
      problems.push(`revision ${event.revision} does not parse: ${(error as Error).message}`);
      continue;
    }
    if (event.type === 'order.status_changed') {
      if (event.data.oldStatus !== status) problems.push(`revision ${event.revision} changes status from ${String(event.data.oldStatus)}, the order was ${status}`);
      status = String(event.data.newStatus);
    }
  }
  try {
    const state = foldOrder(parsed);
    if (state.exists && state.status !== status) problems.push(`folds to ${state.status}, its status changes end at ${status}`);
  } catch (error) {
    problems.push(`does not fold: ${(error as Error).message}`);
  }
  return problems;
}

/**
 * The correlation id the request sent, from the one its events carry (`<tenantId>:<given>`, so
 * that tenants reusing an id never share a trace); undefined when it is not scoped to the
 * event's tenant.
 */
function sentCorrelationId(event: StoredEvent): string | undefined {
  const stored = String(event.metadata.$correlationId);
  const prefix = `${String(event.data.tenantId)}:`;
  return stored.startsWith(prefix) ? stored.slice(prefix.length) : undefined;
}
