// Schema set-up on PostgreSQL when several processes start at once (API replicas and workers on
// other hosts): every store runs every CREATE ... IF NOT EXISTS and column upgrade of the shipped
// projections and handlers at the same moment on one fresh schema, and none fails.
import { describe, expect, it } from 'vitest';
import { projections } from '../../../projections/index.js';
import { ANALYTICS_SCHEMA } from '../../../src/handlers/analytics-store.js';
import { ensureOutboxSchema } from '../../../src/handlers/whatsapp-outbox.js';
import { openPostgresReadModelStore } from '../../../src/readmodels/postgres-store.js';
import { tableColumns, tableExists } from '../../../src/readmodels/read-model-store.js';
import { PROJECTION_PARKED_DDL } from '../../../src/subscriptions/projection-parking.js';
import { PROJECTION_MEMBERS_DDL } from '../../../src/subscriptions/projection-migration.js';
import { testDatabaseUrl } from '../../helpers/read-models.js';

const SETUPS = 8;

describe('schema set-up on PostgreSQL', () => {
  it(`is idempotent and safe with ${SETUPS} processes setting up one fresh schema at once`, async () => {
    const url = new URL(await testDatabaseUrl());
    url.searchParams.set('schema', `s_concurrent_${process.pid}`);
    const setUp = async () => {
      // Each as a process starting: its own pool, the schema made if missing, then every DDL.
      const store = await openPostgresReadModelStore({ url: url.toString(), poolSize: 2 });
      try {
        await Promise.all([
          ...projections.map((projection) => store.migrate(projection.schema)),
          store.migrate(ANALYTICS_SCHEMA),
          store.migrate(PROJECTION_PARKED_DDL),
          store.migrate(PROJECTION_MEMBERS_DDL),
          ensureOutboxSchema(store),
        ]);
      } finally {
        await store.close();
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: SETUPS }, setUp));
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    // And once more on the schema they made: nothing to do, nothing fails.
    await setUp();

    const store = await openPostgresReadModelStore({ url: url.toString(), poolSize: 1 });
    try {
      for (const table of ['order_summary', 'customer_orders', 'sales_by_day', 'inventory_lines', 'analytics_orders', 'projection_parked', 'whatsapp_outbox', 'handled_events']) {
        expect(await tableExists(store, table), table).toBe(true);
      }
      expect(await tableColumns(store, 'whatsapp_outbox')).toEqual(expect.arrayContaining(['ledger_revision', 'settled_by', 'attempts']));
    } finally {
      await store.close();
    }
  });
});
