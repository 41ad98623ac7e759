// `orders history <orderId> [--json]`: every event of one order, with the order's state after
// each, folded with the decider's own evolve so the CLI shows what the domain believes.
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { evolve, initialOrderState, orderStreamName, type OrderState } from '../orders/index.js';
import { parseCommandArgs } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { describeOrderEvent, describeOrderState } from './describe-order-event.js';
import { decodeRecordedEvent, type DecodedEvent } from './recorded-order-event.js';
import { withStore } from './store-connection.js';

const HELP = `Usage: orders history <orderId> [--json]

Prints every event of the order (stream order-<orderId>) in order: its time, type, key data,
correlation and causation ids, and the order's state after it.

Options:
  --json      one JSON array, an entry per event (with the full data, metadata and state)
  -h, --help  this help

Environment:
  ESDB_CONNECTION_STRING  the event store (default esdb://127.0.0.1:2113?tls=false)`;

interface HistoryEntry {
  event: DecodedEvent;
  state: OrderState;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { options: { json: { type: 'boolean' } }, positionals: { min: 1, max: 1 }, help: HELP });
  if (!parsed) return 0;
  const orderId = parsed.positionals[0] ?? '';
  if (orderId.trim() === '') throw new CliError('the order id is empty', 2);
  const { connectionString } = cliEnvironment();
  const entries = await withStore(connectionString, ({ client }) => readHistory(client, orderId));
  if (parsed.values.json) console.log(JSON.stringify(entries.map(toJson), null, 2));
  else console.log(renderHistory(orderId, entries));
  return 0;
}

async function readHistory(client: EventStoreDBClient, orderId: string): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  let state = initialOrderState;
  try {
    for await (const resolved of client.readStream(orderStreamName(orderId), { direction: FORWARDS, fromRevision: START })) {
      if (!resolved.event) continue;
      const event = decodeRecordedEvent(resolved.event);
      if (event.orderEvent) state = evolve(state, event.orderEvent);
      entries.push({ event, state });
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) throw new CliError(`order '${orderId}' not found (no stream ${orderStreamName(orderId)})`);
    throw err;
  }
  if (entries.length === 0) throw new CliError(`order '${orderId}' not found (stream ${orderStreamName(orderId)} is empty)`);
  return entries;
}

function renderHistory(orderId: string, entries: HistoryEntry[]): string {
  const last = entries.at(-1)?.state;
  const tenant = last?.exists ? ` (tenant ${last.tenantId})` : '';
  const lines = [`order ${orderId}${tenant}: ${entries.length} event${entries.length === 1 ? '' : 's'}`];
  for (const { event, state } of entries) {
    const time = event.orderEvent?.data.occurredAt ?? event.recordedAt.toISOString();
    const currency = state.exists ? state.currency : undefined;
    const detail = event.orderEvent ? describeOrderEvent(event.orderEvent, currency) : (event.invalid ?? 'not an order event');
    lines.push(
      '',
      `#${event.revision}  ${time}  ${event.type}`,
      `    ${detail}`,
      `    correlation ${event.correlationId ?? '-'}  causation ${event.causationId ?? '-'}`,
      `    => ${describeOrderState(state)}`,
    );
  }
  return lines.join('\n');
}

function toJson({ event, state }: HistoryEntry) {
  return {
    revision: Number(event.revision),
    position: event.position?.toString(),
    eventId: event.id,
    type: event.type,
    occurredAt: event.orderEvent?.data.occurredAt,
    recordedAt: event.recordedAt.toISOString(),
    correlationId: event.correlationId,
    causationId: event.causationId,
    data: event.orderEvent?.data ?? event.data,
    ...(event.invalid ? { invalid: event.invalid } : {}),
    metadata: event.metadata,
    state,
  };
}
