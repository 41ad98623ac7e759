// Live processing for the replay tests: the real workers (projections only) writing to
// <dataDir>/readmodels.db, and helpers to wait for them and to read what they wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/observability/logger.js';
import { readModelFileIn } from '../../../src/readmodels/read-model-store.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';

export const PROJECTION_TABLES = ['order_summary', 'customer_orders', 'sales_by_day', 'sales_order_currency'] as const;

export function makeDataDir(): { dataDir: string; remove(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-cli-'));
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

export function startLiveProjections(client: EventStoreDBClient, dataDir: string, groupPrefix: string): Promise<RunningWorkers> {
  return startWorkers({
    client,
    dataDir,
    logger: createLogger({ level: 'silent' }),
    registry: new Registry(),
    handlers: [],
    runner: { groupPrefix, statsIntervalMs: 60_000 },
  });
}

/** Rows of a table in a stable order, from any read-model file. */
export function tableRows(file: string, table: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM "${table}" ORDER BY 1, 2, 3`).all();
  } finally {
    db.close();
  }
}

export function liveRows(dataDir: string, table: string): unknown[] {
  return tableRows(readModelFileIn(dataDir), table);
}

export function liveSnapshot(dataDir: string): Record<string, unknown[]> {
  return Object.fromEntries(PROJECTION_TABLES.map((table) => [table, liveRows(dataDir, table)]));
}

/** Runs SQL against the live read models (to damage them, as a bug would). */
export function onLiveModel(dataDir: string, sql: string): void {
  const db = new Database(readModelFileIn(dataDir));
  try {
    db.pragma('busy_timeout = 5000');
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** Waits until every projection recorded `revisions` (stream -> last revision) for every order. */
export async function waitForProjections(dataDir: string, revisions: Map<string, number>, projections: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const db = new Database(readModelFileIn(dataDir), { readonly: true });
    let caughtUp: boolean;
    try {
      const rows = db.prepare('SELECT projection, stream_id, revision FROM projection_revisions').all() as Array<{ projection: string; stream_id: string; revision: number }>;
      const seen = new Map(rows.map((row) => [`${row.projection}/${row.stream_id}`, row.revision]));
      caughtUp = projections.every((projection) => [...revisions].every(([stream, revision]) => seen.get(`${projection}/${stream}`) === revision));
    } catch {
      caughtUp = false; // tables not created yet
    } finally {
      db.close();
    }
    if (caughtUp) return;
    if (Date.now() > deadline) throw new Error('live projections did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
