// A worker process for the kill -9 test: joins the `recorder` group on the given store and
// prints each order it starts on; with HANG=1 it never finishes one (so never acks).
import { EventStoreDBClient } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { startWorkers } from '../../../src/workers.js';
import { openConfiguredReadModels, openReadModelStore } from '../../../src/readmodels/read-model-store.js';

const client = EventStoreDBClient.connectionString(process.env.CONNECTION_STRING!);
// READ_MODEL_URL when the suite runs on PostgreSQL, else the SQLite file.
const store = process.env.READ_MODEL_URL
  ? await openConfiguredReadModels({ dataDir: '.', readModelUrl: process.env.READ_MODEL_URL })
  : openReadModelStore({ file: process.env.READ_MODEL_FILE! });
const recorder = defineHandler({
  name: 'recorder',
  handles: ['order.created'],
  schema: 'CREATE TABLE IF NOT EXISTS handled_by (order_id TEXT NOT NULL, worker TEXT NOT NULL)',
  async handle(event, context) {
    console.log(`started ${event.data.orderId}`);
    if (process.env.HANG === '1') await new Promise(() => undefined);
    await context.transaction(async (tx) => await tx.run('INSERT INTO handled_by (order_id, worker) VALUES (?, ?)', event.data.orderId, 'child'));
  },
});
await startWorkers({ client, logger: pino({ level: 'silent' }), registry: new Registry(), store, env: {}, handlers: [recorder], projections: [], runner: { messageTimeoutMs: 3_000, handlerTimeoutMs: 60_000 } });
console.log('ready');
