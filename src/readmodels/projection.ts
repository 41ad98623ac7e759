// A read-model projection is one small declaration: the tables it owns, the event types it
// reads and how each changes its rows. It never sees a subscription or a database file: the
// runner (or `orders replay`) passes the open transaction in.
import type { OrderEventType } from '../orders/events.js';
import type { StoreEventEnvelope } from './event-envelope.js';
import type { ReadModelTx } from './read-model-store.js';

export interface ProjectionDefinition {
  /** Stable: names the subscription group and the revision records. */
  name: string;
  /**
   * Bumped when the rows it keeps change meaning (a table or a column filled from the events):
   * a store whose rows an earlier version made has them emptied, and the projection catches up
   * from the history as one deployed later does (projection-migration.ts). 1 when absent.
   */
  version?: number;
  /** Event types apply() is called for; every other event of the order only advances its revision. */
  handles: readonly OrderEventType[];
  /** Idempotent DDL (CREATE ... IF NOT EXISTS) for the tables it owns. */
  schema: string;
  /** Changes the rows for one event; runs inside the transaction that records the revision. */
  apply(event: StoreEventEnvelope, tx: ReadModelTx): Promise<void>;
  /** Empties the tables it owns (the revision records are cleared by the caller). */
  reset(tx: ReadModelTx): Promise<void>;
}

export function defineProjection(definition: ProjectionDefinition): ProjectionDefinition {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`projection name '${definition.name}' must be lower-case words joined by '-'`);
  }
  if (definition.handles.length === 0) throw new Error(`projection '${definition.name}' handles no event type`);
  return definition;
}
