// `orders replay` without the terminal: rebuild a projection from the full history into a scratch
// copy, then swap it in (catching up with the live projection first), compare it (dry run), or
// keep it as a separate file (`until`). The live database is written only by the swap.
import { mkdirSync } from 'node:fs';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import { openReadModelStore, readModelFileIn } from '../readmodels/read-model-store.js';
import { compareWithLive, type TableComparison } from './compare.js';
import { ProjectionRebuild, type EventSource, type RebuildCounts, type RebuildProgress } from './rebuild.js';
import { integrityProblem } from '../readmodels/read-model-health.js';
import { moveDatabaseFile, removeAbandonedScratchFiles, removeDatabaseFiles, replaysDir, scratchFileFor, setAsideDamagedLiveFile } from './replay-files.js';
import { swapIntoLive, type SwapResult } from './swap.js';
import { compareSchemaWithLive, openScratchSchema, renameScratch, swapSchemaIntoLive } from './postgres-replay.js';
import type { ReplayUntil } from './until.js';

/** Catch-up rounds before giving up on a live projection that keeps applying ahead of the copy. */
const MAX_SWAP_ATTEMPTS = 10;

export type ReplayMode =
  | { kind: 'swap' }
  | { kind: 'dry-run' }
  /** outFile: on PostgreSQL, the schema to write to. */
  | { kind: 'until'; until: ReplayUntil; outFile: string };

export interface ReplayRequest {
  /** Where the history is read from (clientEventSource, workerEventSource). */
  source: EventSource;
  projection: ProjectionDefinition;
  dataDir: string;
  /** postgres://...: the live read models are there (READ_MODEL_URL); the copy is a schema. */
  readModelUrl?: string | undefined;
  mode: ReplayMode;
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
  /**
   * Whether the projections group will deliver every event after the rebuild's end to the
   * workers that join it next (groupDeliversAfter, asked before each swap): the swap then records
   * the projection among its members, and their start does not read $all again to catch it up.
   * Absent: never recorded, the next start catches up by reading (a projection not yet a member).
   */
  groupDeliversAfter?: (position: bigint | undefined) => Promise<boolean>;
}

export type ReplayResult =
  | {
      kind: 'swapped';
      liveFile: string;
      rows: Record<string, number>;
      catchUps: number;
      /** Among the projections group's members: the workers' next start does not catch it up by reading $all. */
      member: boolean;
      /** The live file was damaged (corrupt, or deleted with its WAL left): moved here, and a fresh one started. */
      setAside?: { movedTo: string; reason: string };
    }
  | { kind: 'dry-run'; liveFile: string; tables: TableComparison[] }
  | { kind: 'written'; file: string; reachedUntil: boolean };

export interface ReplayOutcome {
  counts: RebuildCounts;
  refusedReasons: ReadonlyMap<string, number>;
  /** Commit position of the last event the model includes. */
  position: bigint | undefined;
  result: ReplayResult;
}

export class LiveProjectionAheadError extends Error {
  constructor(projection: string) {
    super(`the live '${projection}' projection kept applying events ahead of the replay; the live read model is unchanged, try again`);
    this.name = 'LiveProjectionAheadError';
  }
}

export async function replayProjection(request: ReplayRequest): Promise<ReplayOutcome> {
  if (request.readModelUrl) return replayOnPostgres(request, request.readModelUrl);
  const { source, projection, dataDir, mode, signal } = request;
  mkdirSync(replaysDir(dataDir), { recursive: true });
  removeAbandonedScratchFiles(dataDir, projection.name);
  const scratch = scratchFileFor(dataDir, projection.name);
  removeDatabaseFiles(scratch);
  const liveFile = readModelFileIn(dataDir);
  try {
    const store = openReadModelStore({ file: scratch });
    // The scratch copy needs no durability until it is swapped (the swap's transaction has it).
    await store.exec('PRAGMA synchronous = OFF');
    // Rebuilding touches rows all over the tables: a large page cache saves re-reading them.
    await store.exec('PRAGMA cache_size = -131072');
    const rebuild = new ProjectionRebuild(projection, store, mode.kind === 'until' ? { until: mode.until } : {});
    await rebuild.prepare();
    const hooks = { ...(signal ? { signal } : {}), ...(request.onProgress ? { onProgress: request.onProgress } : {}) };
    let result: ReplayResult;
    try {
      await rebuild.run(source, hooks);
      if (mode.kind === 'swap') {
        // A corrupt live file cannot take a swap: it is moved aside and the model starts afresh
        // (the other projections then need their replay too; the service waits for them).
        signal?.throwIfAborted();
        const setAside = setAsideDamagedLiveFile(liveFile, integrityProblem);
        const { rows, catchUps, member } = await swapCatchingUp(rebuild, request, hooks, async () =>
          swapIntoLive({ liveFile, copyFile: scratch, projection, position: rebuild.position, events: rebuild.counts.read, member: await deliversAfter(request, rebuild) }),
        );
        result = { kind: 'swapped', liveFile, rows, catchUps, member, ...(setAside ? { setAside } : {}) };
      } else if (mode.kind === 'dry-run') {
        result = { kind: 'dry-run', liveFile, tables: compareWithLive(liveFile, scratch, projection) };
      } else {
        result = { kind: 'written', file: mode.outFile, reachedUntil: rebuild.reachedUntil };
      }
    } finally {
      await store.close();
    }
    if (result.kind === 'written') moveDatabaseFile(scratch, result.file);
    return { counts: rebuild.counts, refusedReasons: rebuild.refusedReasons, position: rebuild.position, result };
  } finally {
    removeDatabaseFiles(scratch);
  }
}

/** The same on PostgreSQL: the copy is a scratch schema next to the live one. */
async function replayOnPostgres(request: ReplayRequest, url: string): Promise<ReplayOutcome> {
  const { source, projection, mode, signal } = request;
  const handle = await openScratchSchema(url, projection.name, { live: mode.kind !== 'until' });
  try {
    const rebuild = new ProjectionRebuild(projection, handle.scratch, mode.kind === 'until' ? { until: mode.until } : {});
    await rebuild.prepare();
    const hooks = { ...(signal ? { signal } : {}), ...(request.onProgress ? { onProgress: request.onProgress } : {}) };
    const liveFile = handle.liveLocation;
    let result: ReplayResult;
    await rebuild.run(source, hooks);
    if (mode.kind === 'swap') {
      const { rows, catchUps, member } = await swapCatchingUp(rebuild, request, hooks, async () =>
        swapSchemaIntoLive(handle, projection, { position: rebuild.position, events: rebuild.counts.read, member: await deliversAfter(request, rebuild) }),
      );
      result = { kind: 'swapped', liveFile, rows, catchUps, member };
    } else if (mode.kind === 'dry-run') {
      result = { kind: 'dry-run', liveFile, tables: await compareSchemaWithLive(handle, projection) };
    } else {
      await renameScratch(handle, mode.outFile);
      result = { kind: 'written', file: `schema ${mode.outFile}`, reachedUntil: rebuild.reachedUntil };
    }
    return { counts: rebuild.counts, refusedReasons: rebuild.refusedReasons, position: rebuild.position, result };
  } finally {
    await handle.dispose();
  }
}

/**
 * Swaps the rebuilt copy in; while the live projection has applied events appended after the
 * rebuild's read, reads those too and tries again (at most MAX_SWAP_ATTEMPTS times).
 */
async function swapCatchingUp(
  rebuild: ProjectionRebuild,
  request: ReplayRequest,
  hooks: Parameters<ProjectionRebuild['run']>[1],
  trySwap: () => Promise<SwapResult>,
): Promise<{ rows: Record<string, number>; catchUps: number; member: boolean }> {
  for (let catchUps = 0; ; ) {
    request.signal?.throwIfAborted();
    const swapped = await trySwap();
    if (swapped.kind === 'swapped') return { rows: swapped.rows, catchUps, member: swapped.member };
    if (++catchUps >= MAX_SWAP_ATTEMPTS) throw new LiveProjectionAheadError(request.projection.name);
    const readBefore = rebuild.counts.read;
    await rebuild.run(request.source, hooks);
    if (rebuild.counts.read === readBefore) {
      throw new Error(
        `the live model has applied events the replay cannot find in the store (${swapped.examples.join(', ')}): deleted or truncated streams? Nothing was swapped`,
      );
    }
  }
}

/** Asked right before the swap, of where the rebuild ends then. */
async function deliversAfter(request: ReplayRequest, rebuild: ProjectionRebuild): Promise<boolean> {
  return (await request.groupDeliversAfter?.(rebuild.position)) ?? false;
}
