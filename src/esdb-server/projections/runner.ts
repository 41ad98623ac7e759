// Runs one user projection: reads $all from its checkpoint on the server thread (cheap SQLite
// reads), sends the events its query selects to its worker thread, and commits what the worker
// answers (states, results, emitted events) together with the new checkpoint in one log
// transaction. Commits are grouped (at most one per COMMIT_INTERVAL_MS, or every
// COMMIT_EVENTS events) so a live projection adds few writes to the log.
import { randomUUID } from 'node:crypto';
import type { ProjectionLogAccess } from '../log/sqlite-event-log.js';
import type { EmittedEvent, PartitionState, ProjectionRecord } from '../log/projection-storage.js';
import type { EventLog } from '../log/types.js';
import { ProjectionWorker, type ProjectionLimits } from './projection-worker.js';
import { sourceFilter } from './source-filter.js';
import type { SourceDefinition, WireEmit, WireEvent } from './wire.js';

const READ_PAGE = 2_000;
const COMMIT_INTERVAL_MS = 250;
const COMMIT_EVENTS = 20_000;
const LIVE_BATCH_MS = 20;

export interface RunnerDeps {
  log: EventLog;
  access: ProjectionLogAccess;
  limits: ProjectionLimits;
}

export class ProjectionRunner {
  /** Position of the last event read (handled or not): where the next read starts. */
  position: number;
  eventsProcessedAfterRestart = 0;
  definition: SourceDefinition | undefined;
  private active = true;
  private worker: ProjectionWorker | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A commit happened since the last read. */
  private signalled = false;
  private readonly unsubscribe: () => void;
  private pendingStates = new Map<string, PartitionState>();
  private pendingEmits: EmittedEvent[] = [];
  private pendingEvents = 0;
  private lastCommitAt = 0;
  /** OneTime / Transient: the head when it started, where it completes. */
  private readonly until: number | undefined;

  constructor(
    private readonly deps: RunnerDeps,
    /** The record as last committed; the runner owns it while it runs. */
    public record: ProjectionRecord,
    private readonly onSettled: (runner: ProjectionRunner) => void,
  ) {
    this.position = record.position;
    this.until = record.mode === 'Continuous' ? undefined : deps.log.headPosition();
    this.unsubscribe = deps.log.onCommit(() => {
      this.signalled = true;
      this.wake?.();
    });
  }

  start(): void {
    this.loop = this.run().catch((error: unknown) => this.fault(error instanceof Error ? error.message : String(error)));
  }

  /** Stops after the batch in flight; with writeCheckpoint what was handled is committed, else dropped (abort). */
  async stop(status: 'Stopped' | 'Aborted', writeCheckpoint: boolean): Promise<void> {
    if (!this.active) {
      await this.loop;
      return;
    }
    this.active = false;
    this.wake?.();
    await this.loop;
    if (this.record.status === 'Faulted' || this.record.status === 'Completed') return;
    if (!writeCheckpoint) this.dropPending();
    await this.commit({ status, enabled: false });
  }

  private async run(): Promise<void> {
    const { access, log } = this.deps;
    const statesJson = JSON.stringify(Object.fromEntries(access.projections.states(this.record.name).map((row) => [row.partition, row.state])));
    this.worker = new ProjectionWorker(this.deps.limits);
    try {
      const ready = await this.worker.init(this.record.name, this.record.query, this.record.emitEnabled, statesJson);
      if (!ready.ok) return await this.fault(ready.reason);
      this.definition = ready.definition;
      const select = sourceFilter(ready.definition, (stream) => log.readStream(stream, { from: 'start', direction: 'forwards', maxCount: 1, resolveLinkTos: false }).kind !== 'ok');
      if (this.record.status !== 'Running') await this.commit({ status: 'Running', enabled: true, reason: '' });
      while (this.active) {
        const limit = this.until ?? Number.MAX_SAFE_INTEGER;
        this.signalled = false;
        const page = this.position >= limit ? undefined : log.readAll({ from: this.position + 1, direction: 'forwards', maxCount: READ_PAGE, resolveLinkTos: false });
        if (page && page.lastScannedPosition !== undefined) {
          const batch: WireEvent[] = [];
          let last = this.position;
          for (const { event } of page.events) {
            if (!event || event.position > limit) break;
            last = event.position;
            const selection = select(event);
            if (selection.kind === 'skip') continue;
            batch.push({
              stream: selection.kind === 'deleted' ? selection.stream : event.stream,
              revision: event.revision,
              type: event.type,
              position: event.position,
              id: event.id,
              isJson: event.contentType === 'application/json',
              data: event.data,
              metadata: event.metadata,
              created: Number(event.created / 10_000n),
              deleted: selection.kind === 'deleted',
            });
          }
          if (batch.length > 0) {
            const answer = await this.worker.batch(batch);
            if (!answer.ok) return await this.fault(answer.reason);
            this.take(answer.changes);
            this.pendingEvents += batch.length;
            this.eventsProcessedAfterRestart += batch.length;
          }
          this.position = last;
        }
        const caughtUp = !page || page.endOfLog || this.position >= limit;
        if (this.until !== undefined && caughtUp) {
          await this.commit({ status: 'Completed', enabled: false });
          return;
        }
        const sinceCommit = Date.now() - this.lastCommitAt;
        if (this.hasPending() && (this.pendingEvents >= COMMIT_EVENTS || sinceCommit >= COMMIT_INTERVAL_MS)) await this.commit({});
        if (caughtUp && this.active) await this.sleep(this.hasPending() ? Math.max(1, COMMIT_INTERVAL_MS - (Date.now() - this.lastCommitAt)) : undefined);
      }
    } finally {
      this.unsubscribe();
      await this.worker.close();
      this.onSettled(this);
    }
  }

  private take(changesJson: string): void {
    const changes = JSON.parse(changesJson) as { changed: [string, string, string | null][]; emits: WireEmit[] };
    for (const [partition, state, result] of changes.changed) this.pendingStates.set(partition, { partition, state, result });
    for (const emit of changes.emits) {
      this.pendingEmits.push({
        stream: emit.stream,
        event: {
          id: randomUUID(),
          type: emit.type,
          contentType: emit.json ? 'application/json' : 'application/octet-stream',
          data: Buffer.from(emit.data, 'utf8'),
          metadata: Buffer.from(emit.metadata, 'utf8'),
        },
      });
    }
  }

  private hasPending(): boolean {
    return this.pendingStates.size > 0 || this.pendingEmits.length > 0 || this.position !== this.record.position;
  }

  private dropPending(): void {
    this.pendingStates = new Map();
    this.pendingEmits = [];
    this.pendingEvents = 0;
    this.position = this.record.position;
  }

  /** Commits what is pending with the checkpoint (and record changes) in one transaction. */
  private async commit(changes: Partial<ProjectionRecord>): Promise<void> {
    const record: ProjectionRecord = {
      ...this.record,
      ...changes,
      position: this.position,
      eventsProcessed: this.record.eventsProcessed + this.pendingEvents,
    };
    const states = [...this.pendingStates.values()];
    const emits = this.pendingEmits;
    this.dropPending();
    this.position = record.position;
    try {
      await this.deps.access.commitProjection({ kind: 'projection', name: record.name, record, states, emits });
      this.record = record;
    } catch (error) {
      // Nothing of it was written: the projection faults where it last committed.
      const reason = `Failed to write the projection's checkpoint: ${error instanceof Error ? error.message : String(error)}`;
      this.position = this.record.position;
      if (changes.status !== 'Faulted') await this.commit({ status: 'Faulted', reason });
    } finally {
      this.lastCommitAt = Date.now();
    }
  }

  /** Commits what was handled before the fault, then records the fault; the server and other projections go on. */
  private async fault(reason: string): Promise<void> {
    this.active = false;
    await this.commit({ status: 'Faulted', reason });
  }

  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (this.signalled || !this.active) {
        resolve();
        return;
      }
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        // Live: let the commits of the next few ms join one read, so a busy store is not read
        // (and the projection's thread not called) once per append.
        if (this.active) setTimeout(done, LIVE_BATCH_MS);
        else done();
      };
    });
  }
}
