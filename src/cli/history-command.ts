// `orders history <orderId> [--tenant <id>] [--json]`: every event of one order, with the order's
// state after each, folded with the decider's own evolve so the CLI shows what the domain believes.
import { existsSync } from 'node:fs';
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import Database from 'better-sqlite3';
import { evolve, initialOrderState, legacyOrderStreamName, normalizeId, parseOrderStreamName, tenantOrderStreamName, type OrderState } from '../orders/index.js';
import { readModelFileIn } from '../readmodels/read-model-store.js';
import { openReadModelsForCli, readModelsExist } from './read-models.js';
import { parseCommandArgs } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { describeOrderEvent, describeOrderState } from './describe-order-event.js';
import { decodeRecordedEvent, type DecodedEvent } from './recorded-order-event.js';
import { withStore } from './store-connection.js';

const HELP = `Usage: orders history <orderId> [--tenant <tenantId>] [--json]

Prints every event of the order (stream order-<tenantId>-<orderId>, or order-<orderId> in a
store written before tenant-scoped stream names) in order: its time, type, key data,
correlation and causation ids, and the order's state after it. Each tenant has its own order
ids: without --tenant the tenant is found in the order-summary read model (DATA_DIR), and an id
two tenants use asks for --tenant. <orderId> may also be the order's stream name.

Options:
  --tenant <id>  the tenant whose order it is
  --json         one JSON array, an entry per event (with the full data, metadata and state)
  -h, --help     this help

Environment:
  ESDB_CONNECTION_STRING  the event store (default esdb://127.0.0.1:2113?tls=false)
  DATA_DIR                where the read models are (default ./data)`;

interface HistoryEntry {
  event: DecodedEvent;
  state: OrderState;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { options: { json: { type: 'boolean' }, tenant: { type: 'string' } }, positionals: { min: 1, max: 1 }, help: HELP });
  if (!parsed) return 0;
  const given = parsed.positionals[0] ?? '';
  if (given.trim() === '') throw new CliError('the order id is empty', 2);
  const tenant = parsed.values.tenant;
  if (tenant !== undefined && !/^[A-Za-z0-9_.-]+$/.test(tenant)) throw new CliError(`--tenant '${tenant}' is not a tenant id`, 2);
  const { connectionString, dataDir, readModelUrl } = cliEnvironment();
  const orderId = normalizeId(parseOrderStreamName(given)?.orderId ?? given);
  const entries = await withStore(connectionString, async ({ client }) => {
    const stream = await findOrderStream(client, given, orderId, tenant, dataDir, readModelUrl);
    return readHistory(client, orderId, stream);
  });
  if (parsed.values.json) console.log(JSON.stringify(entries.map(toJson), null, 2));
  else console.log(renderHistory(orderId, entries));
  return 0;
}

/**
 * The stream of the order: named outright, or the tenant's, or (without --tenant) the one of the
 * tenant the read model knows it under; a legacy `order-<orderId>` stream counts as well.
 */
async function findOrderStream(client: EventStoreDBClient, given: string, orderId: string, tenant: string | undefined, dataDir: string, readModelUrl: string | undefined): Promise<string> {
  const named = parseOrderStreamName(given);
  if (named && (await streamExists(client, given))) return given;
  const legacy = legacyOrderStreamName(orderId);
  if (tenant !== undefined) {
    const own = tenantOrderStreamName(tenant, orderId);
    if (await streamExists(client, own)) return own;
    return (await streamExists(client, legacy)) ? legacy : own;
  }
  const candidates = (await tenantsInReadModel(dataDir, readModelUrl, orderId)).map((tenantId) => tenantOrderStreamName(tenantId, orderId));
  if (await streamExists(client, legacy)) candidates.push(legacy);
  const found: string[] = [];
  for (const stream of new Set(candidates)) if (await streamExists(client, stream)) found.push(stream);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) throw new CliError(`order id '${orderId}' is used by several tenants (streams ${found.join(', ')}): give --tenant`, 2);
  return legacy;
}

/** Tenants with an order of this id in the order-summary read model; none when there is no model. */
async function tenantsInReadModel(dataDir: string, readModelUrl: string | undefined, orderId: string): Promise<string[]> {
  if (readModelUrl) {
    // A schema nobody wrote to has no orders (and opening a store would set one up there).
    if (!(await readModelsExist({ dataDir, readModelUrl }))) return [];
    try {
      const store = await openReadModelsForCli({ dataDir, readModelUrl });
      try {
        const rows = await store.all<{ tenant_id: string }>('SELECT tenant_id FROM order_summary WHERE order_id = ? ORDER BY tenant_id', orderId);
        return rows.map((row) => row.tenant_id);
      } finally {
        await store.close();
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      // No order_summary table yet: no tenant known.
      return [];
    }
  }
  const file = readModelFileIn(dataDir);
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT tenant_id FROM order_summary WHERE order_id = ? ORDER BY tenant_id').all(orderId).map((row) => (row as { tenant_id: string }).tenant_id);
  } catch {
    return [];
  } finally {
    db.close();
  }
}

async function streamExists(client: EventStoreDBClient, stream: string): Promise<boolean> {
  let exists = false;
  try {
    for await (const resolved of client.readStream(stream, { direction: FORWARDS, fromRevision: START, maxCount: 1 })) if (resolved.event) exists = true;
  } catch (err) {
    if (err instanceof StreamNotFoundError) return false;
    throw err;
  }
  return exists;
}

async function readHistory(client: EventStoreDBClient, orderId: string, stream: string): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  let state = initialOrderState;
  try {
    for await (const resolved of client.readStream(stream, { direction: FORWARDS, fromRevision: START })) {
      if (!resolved.event) continue;
      const event = decodeRecordedEvent(resolved.event);
      if (event.orderEvent) state = evolve(state, event.orderEvent);
      entries.push({ event, state });
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) throw new CliError(`order '${orderId}' not found (no stream ${stream}${stream === legacyOrderStreamName(orderId) ? '; give --tenant to look in its tenant\'s stream' : ''})`);
    throw err;
  }
  if (entries.length === 0) throw new CliError(`order '${orderId}' not found (stream ${stream} is empty)`);
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
