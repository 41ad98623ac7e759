// Older shapes of stored events and how each becomes the current one. Reading never fails on an
// old event: it is upcast here, then validated against the current schema in events.ts.

/** Metadata the upcasters may consult (v1 events kept the tenant only in metadata). */
export interface UpcastMetadata {
  tenantId?: unknown;
}

type Upcaster = (data: Record<string, unknown>, metadata: UpcastMetadata) => Record<string, unknown>;

/**
 * order.created v1 (before the tenant moved into the data): flat customer fields, `price`
 * instead of `unitPrice`, no `total`, time in `createdAt`, tenant only in metadata.
 */
const orderCreatedV1ToV2: Upcaster = (data, metadata) => {
  const items = Array.isArray(data.items) ? (data.items as Record<string, unknown>[]) : [];
  const upcastItems = items.map((item) => ({
    sku: item.sku,
    ...(item.name !== undefined ? { name: item.name } : {}),
    quantity: item.quantity,
    unitPrice: item.unitPrice ?? item.price,
  }));
  const customer: Record<string, unknown> = {};
  if (data.customerId !== undefined) customer.id = data.customerId;
  if (data.customerName !== undefined) customer.name = data.customerName;
  if (data.customerPhone !== undefined) customer.phone = data.customerPhone;
  const total = upcastItems.reduce(
    (sum, item) => sum + (typeof item.quantity === 'number' && typeof item.unitPrice === 'number' ? item.quantity * item.unitPrice : 0),
    0,
  );
  return {
    schemaVersion: 2,
    orderId: data.orderId,
    tenantId: data.tenantId ?? metadata.tenantId,
    ...(data.customerId !== undefined ? { customerId: data.customerId } : {}),
    customer,
    currency: data.currency,
    items: upcastItems,
    total,
    occurredAt: data.occurredAt ?? data.createdAt,
  };
};

/** Per event type, the upcaster from version N to N+1 (index 0 upcasts v1 to v2). */
const upcasters: Readonly<Record<string, readonly Upcaster[]>> = {
  'order.created': [orderCreatedV1ToV2],
};

/** Version of stored data; events written before versioning count as version 1. */
export function schemaVersionOf(data: Record<string, unknown>): number {
  return typeof data.schemaVersion === 'number' ? data.schemaVersion : 1;
}

/** Runs every upcaster between the stored version and the current one, in order. */
export function upcastEventData(type: string, data: Record<string, unknown>, metadata: UpcastMetadata): Record<string, unknown> {
  const chain = upcasters[type] ?? [];
  let current = typeof data.schemaVersion === 'number' ? data : { ...data, schemaVersion: 1 };
  for (let version = schemaVersionOf(current); version <= chain.length; version++) {
    const upcast = chain[version - 1];
    if (!upcast) break;
    current = upcast(current, metadata);
  }
  return current;
}
