import { describe, expect, it } from 'vitest';
import { openReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { INVENTORY_SCHEMA, getStockLevel, releaseStock, reserveStock, setStockOnHand } from '../../../src/handlers/inventory-store.js';

const at = '2026-11-20T10:00:00.000Z';

function store() {
  const db = openReadModelStore({ file: ':memory:' });
  db.migrate(INVENTORY_SCHEMA);
  return db;
}

describe('inventory stock', () => {
  it('reserves per SKU (summing repeated lines), records shortages, and releases', () => {
    const db = store();
    setStockOnHand(db, 't', 'MUG', 3, at);
    reserveStock(db, 't', 'o-1', [{ sku: 'MUG', quantity: 1 }, { sku: 'MUG', quantity: 1 }], at);
    reserveStock(db, 't', 'o-2', [{ sku: 'MUG', quantity: 4 }], at);
    expect(getStockLevel(db, 't', 'MUG')).toEqual({
      sku: 'MUG',
      onHand: 3,
      reserved: 6,
      available: 0,
      shortage: 3,
      shortOrders: [{ orderId: 'o-2', quantity: 4, shortage: 3 }],
    });
    releaseStock(db, 't', 'o-2', at);
    releaseStock(db, 't', 'o-2', at);
    expect(getStockLevel(db, 't', 'MUG')).toMatchObject({ reserved: 2, available: 1, shortage: 0, shortOrders: [] });
  });

  it('never reserves for an order whose release arrived first', () => {
    const db = store();
    setStockOnHand(db, 't', 'MUG', 3, at);
    releaseStock(db, 't', 'o-1', at);
    reserveStock(db, 't', 'o-1', [{ sku: 'MUG', quantity: 2 }], at);
    expect(getStockLevel(db, 't', 'MUG')).toMatchObject({ reserved: 0, available: 3 });
  });

  it('keeps tenants apart', () => {
    const db = store();
    setStockOnHand(db, 'a', 'MUG', 3, at);
    expect(getStockLevel(db, 'b', 'MUG')).toBeUndefined();
  });
});
