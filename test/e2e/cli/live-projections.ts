// Live processing for the replay tests: the real workers (projections only) writing to the read
// models under a data directory (<dataDir>/readmodels.db, or its schema when the suite runs on
// PostgreSQL), and helpers to wait for them and to read what they wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/observability/logger.js';
import type { ProjectionDefinition } from '../../../src/readmodels/projection.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { onPostgres, onReadModelsAt, readModelUrlFor, tableRowsAt, withReadModelsAt } from '../../helpers/read-models.js';

export const PROJECTION_TABLES = ['order_summary', 'customer_orders', 'sales_by_day', 'sales_order_currency'] as const;

export function makeDataDir(): { dataDir: string; remove(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-cli-'));
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** The service's workers with its projections (or `only` these: a service of another version). */
export async function startLiveProjections(client: EventStoreDBClient, dataDir: string, groupPrefix: string, only?: readonly ProjectionDefinition[]): Promise<RunningWorkers> {
  return startWorkers({
    ...(only ? { projections: only } : {}),
    client,
    dataDir,
    readModelUrl: onPostgres ? await readModelUrlFor(dataDir) : undefined,
    logger: createLogger({ level: 'silent' }),
    registry: new Registry(),
    handlers: [],
    runner: { groupPrefix, statsIntervalMs: 60_000 },
  });
}

export function liveRows(dataDir: string, table: string): Promise<unknown[]> {
  return tableRowsAt({ dataDir }, table);
}

export async function liveSnapshot(dataDir: string): Promise<Record<string, unknown[]>> {
  const snapshot: Record<string, unknown[]> = {};
  for (const table of PROJECTION_TABLES) snapshot[table] = await liveRows(dataDir, table);
  return snapshot;
}

/** Runs SQL against the live read models (to damage them, as a bug would). */
export function onLiveModel(dataDir: string, sql: string): Promise<void> {
  return onReadModelsAt({ dataDir }, sql);
}

/** Waits until every projection recorded `revisions` (stream -> last revision) for every order. */
export async function waitForProjections(dataDir: string, revisions: Map<string, number>, projections: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let caughtUp: boolean;
    try {
      const rows = await withReadModelsAt({ dataDir }, (store) => store.all<{ projection: string; stream_id: string; revision: number }>('SELECT projection, stream_id, revision FROM projection_revisions'));
      const seen = new Map(rows.map((row) => [`${row.projection}/${row.stream_id}`, Number(row.revision)]));
      caughtUp = projections.every((projection) => [...revisions].every(([stream, revision]) => seen.get(`${projection}/${stream}`) === revision));
    } catch {
      caughtUp = false; // tables (or the file) not created yet
    }
    if (caughtUp) return;
    if (Date.now() > deadline) throw new Error('live projections did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
