// Every read-model projection the workers run (each its own persistent subscription group) and
// `orders replay` can rebuild.
import type { ProjectionDefinition } from '../src/readmodels/projection.js';
import analytics from './analytics.js';
import inventory from './inventory.js';
import orderSummary from './order-summary.js';
import ordersByCustomer from './orders-by-customer.js';
import salesByDay from './sales-by-day.js';

export const projections: readonly ProjectionDefinition[] = [orderSummary, ordersByCustomer, salesByDay, inventory, analytics];

export function findProjection(name: string): ProjectionDefinition | undefined {
  return projections.find((projection) => projection.name === name);
}
