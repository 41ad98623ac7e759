// Stock counts as events, and the carry-over of the counts an earlier version kept only in its
// read model. Stock is the `inventory` projection (projections/inventory.ts); what the tenant
// counts is recorded as `inventory.stock_set` in `inventory-<tenantId>-<sku>`, so the figures can
// always be rebuilt from the history.
import { NO_STREAM, WrongExpectedVersionError, jsonEvent, type EventStoreDBClient, type JSONType } from '@eventstore/db-client';
import { CURRENT_SCHEMA_VERSIONS, type OrderEventMetadata } from '../orders/events.js';
import { eventIdFor, eventMetadata } from '../orders/event-factory.js';
import type { CommandContext } from '../orders/commands.js';
import { inventoryStreamName } from '../orders/stream-names.js';
import { tableExists, type ReadModelStore } from '../readmodels/read-model-store.js';

/** Appends the count; returns its commit position in $all (for the answer before it is projected). */
export async function recordStockCount(client: EventStoreDBClient, sku: string, onHand: number, context: CommandContext): Promise<number> {
  const result = await client.appendToStream(inventoryStreamName(context.tenantId, sku), [stockSetEvent(sku, onHand, context, eventIdFor(context.commandId, 0))]);
  return result.position ? Number(result.position.commit) : Number.MAX_SAFE_INTEGER;
}

function stockSetEvent(sku: string, onHand: number, context: CommandContext, id: string, metadata: OrderEventMetadata = eventMetadata(context)) {
  return jsonEvent({
    id,
    type: 'inventory.stock_set',
    data: { schemaVersion: CURRENT_SCHEMA_VERSIONS['inventory.stock_set'], tenantId: context.tenantId, sku, onHand, occurredAt: context.at } as JSONType,
    metadata: metadata as unknown as JSONType,
  });
}

/**
 * Versions before stock became a projection kept the counts set with PUT /inventory/:sku only in
 * the `inventory_stock` table of the read models. Each count found there becomes an
 * `inventory.stock_set` event (as of now, in a SKU stream that does not exist yet: a count set
 * since wins), then the old tables are dropped. Safe to run again and from several processes:
 * the event ids derive from the tenant and SKU. Returns how many counts were carried over.
 */
export async function carryOverLegacyStockCounts(client: EventStoreDBClient, readModels: ReadModelStore): Promise<number> {
  if (!(await tableExists(readModels, 'inventory_stock'))) return 0;
  const counts = await readModels.all<{ tenant_id: string; sku: string; on_hand: number }>('SELECT tenant_id, sku, on_hand FROM inventory_stock WHERE on_hand > 0');
  let carried = 0;
  const at = new Date().toISOString();
  for (const count of counts) {
    const commandId = `legacy-stock-count:${count.tenant_id}:${count.sku}`;
    const context: CommandContext = { commandId, tenantId: count.tenant_id, actor: 'migration:inventory', at, correlationId: commandId };
    try {
      await client.appendToStream(inventoryStreamName(count.tenant_id, count.sku), [stockSetEvent(count.sku, count.on_hand, context, eventIdFor(commandId, 0))], {
        expectedRevision: NO_STREAM,
      });
      carried++;
    } catch (error) {
      // The SKU has a count in the store already (set since, or carried over before).
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }
  await readModels.transaction(async (tx) => {
    await tx.exec('DROP TABLE IF EXISTS inventory_stock; DROP TABLE IF EXISTS inventory_reservations; DROP TABLE IF EXISTS inventory_orders;');
  });
  return carried;
}
