// The projections subsystem: user projections (each run by a ProjectionRunner on a thread of its
// own) and the system projections, which are index tables the log maintains on every append
// (log/system-streams.ts) and can only be enabled or disabled. Everything a call changes is
// committed before the call answers.
import { randomUUID } from 'node:crypto';
import type { ProjectionLogAccess } from '../log/sqlite-event-log.js';
import { SYSTEM_PROJECTIONS, type ProjectionMode, type ProjectionRecord, type SystemProjectionName } from '../log/projection-storage.js';
import type { EventLog } from '../log/types.js';
import { DEFAULT_PROJECTION_LIMITS, type ProjectionLimits } from './projection-worker.js';
import { ProjectionRunner } from './runner.js';

export type ProjectionKind = ProjectionMode | 'Transient' | 'System';

/** What listProjections / getProjectionStatus report of one projection. */
export interface ProjectionSummary {
  name: string;
  mode: ProjectionKind;
  /** 'Running', 'Stopped', 'Faulted', 'Completed/Stopped', 'Aborted/Stopped' (EventStoreDB's wording). */
  status: string;
  reason: string;
  /** Position in $all of the last event it handled, -1 before any. */
  position: number;
  /** Percent of $all it has caught up with. */
  progress: number;
  eventsProcessedAfterRestart: number;
  partitionsCached: number;
  version: number;
  epoch: number;
  emitEnabled: boolean;
  trackEmittedStreams: boolean;
}

export class ProjectionError extends Error {
  constructor(
    readonly code: 'not_found' | 'already_exists' | 'invalid' | 'precondition',
    message: string,
  ) {
    super(message);
  }
}

export interface CreateProjection {
  mode: 'Continuous' | 'OneTime' | 'Transient';
  name?: string;
  query: string;
  emitEnabled?: boolean;
  trackEmittedStreams?: boolean;
}

export class ProjectionsManager {
  private readonly runners = new Map<string, ProjectionRunner>();
  /** Transient projections are not kept across restarts: their records live here. */
  private readonly transient = new Set<string>();
  /** One change at a time per projection. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly log: EventLog,
    private readonly access: ProjectionLogAccess,
    private readonly limits: ProjectionLimits = DEFAULT_PROJECTION_LIMITS,
  ) {}

  /** Starts what ran before the restart (where its checkpoint left it); forgets transient projections. */
  async start(): Promise<void> {
    for (const record of this.access.projections.records()) {
      if (record.mode === 'Transient') {
        await this.access.commitProjection({ kind: 'projection', name: record.name, remove: true });
      } else if (record.enabled && record.status !== 'Faulted' && record.status !== 'Completed') {
        this.run(record);
      }
    }
  }

  list(kind: 'all' | ProjectionKind = 'all'): ProjectionSummary[] {
    const system = this.access.projections.systemProjections().map((row): ProjectionSummary => ({
      name: row.name,
      mode: 'System',
      status: row.enabled ? 'Running' : 'Stopped',
      reason: '',
      position: row.enabled ? this.log.headPosition() : row.stoppedAt,
      progress: row.enabled ? 100 : this.progressOf(row.stoppedAt),
      eventsProcessedAfterRestart: 0,
      partitionsCached: 0,
      version: 1,
      epoch: -1,
      emitEnabled: true,
      trackEmittedStreams: false,
    }));
    const user = this.access.projections.records().map((record) => this.summaryOf(record));
    const all = [...system, ...user];
    if (kind === 'all') return all;
    // EventStoreDB's system projections are continuous ones.
    return all.filter((summary) => summary.mode === kind || (kind === 'Continuous' && summary.mode === 'System'));
  }

  status(name: string): ProjectionSummary {
    const found = this.list().find((summary) => summary.name === name);
    if (!found) throw notFound(name);
    return found;
  }

  create(request: CreateProjection): Promise<string> {
    return this.serial(async () => {
      const name = request.mode === 'OneTime' ? request.name || randomUUID() : request.name ?? '';
      if (!name) throw new ProjectionError('invalid', 'A projection needs a name');
      if (isSystem(name) || this.access.projections.record(name)) throw new ProjectionError('already_exists', `Conflict: a projection named '${name}' already exists`);
      const record: ProjectionRecord = {
        name,
        mode: request.mode,
        query: request.query,
        emitEnabled: request.emitEnabled ?? false,
        trackEmittedStreams: request.trackEmittedStreams ?? false,
        enabled: true,
        status: 'Running',
        reason: '',
        position: -1,
        version: 1,
        epoch: 1,
        eventsProcessed: 0,
      };
      if (request.mode === 'Transient') this.transient.add(name);
      await this.access.commitProjection({ kind: 'projection', name, record });
      this.run(record);
      return name;
    });
  }

  update(name: string, query: string, emitEnabled: boolean | undefined): Promise<void> {
    return this.serial(async () => {
      if (isSystem(name)) throw new ProjectionError('precondition', `The system projection '${name}' cannot be updated`);
      const runner = this.runners.get(name);
      if (runner) await runner.stop('Stopped', true);
      const record = this.recordOf(name);
      const updated: ProjectionRecord = {
        ...record,
        query,
        emitEnabled: emitEnabled ?? record.emitEnabled,
        version: record.version + 1,
        status: record.status === 'Faulted' ? 'Stopped' : record.status,
        reason: '',
      };
      await this.access.commitProjection({ kind: 'projection', name, record: updated });
      if (runner || (record.status === 'Faulted' && record.enabled)) this.run({ ...updated, enabled: true });
    });
  }

  enable(name: string): Promise<void> {
    return this.serial(async () => {
      if (isSystem(name)) {
        await this.access.commitProjection({ kind: 'system_projection', name, enabled: true });
        return;
      }
      if (this.runners.has(name)) return;
      const record = this.recordOf(name);
      const restarted: ProjectionRecord = { ...record, enabled: true, status: 'Running', reason: '' };
      await this.access.commitProjection({ kind: 'projection', name, record: restarted });
      this.run(restarted);
    });
  }

  disable(name: string, writeCheckpoint: boolean): Promise<void> {
    return this.serial(async () => {
      if (isSystem(name)) {
        await this.access.commitProjection({ kind: 'system_projection', name, enabled: false });
        return;
      }
      const runner = this.runners.get(name);
      if (runner) {
        await runner.stop(writeCheckpoint ? 'Stopped' : 'Aborted', writeCheckpoint);
        return;
      }
      const record = this.recordOf(name);
      const status = record.status === 'Faulted' || record.status === 'Completed' ? record.status : writeCheckpoint ? 'Stopped' : 'Aborted';
      await this.access.commitProjection({ kind: 'projection', name, record: { ...record, enabled: false, status } });
    });
  }

  /** Back to the start: states cleared, a new epoch; a running projection runs again from the start. */
  reset(name: string): Promise<void> {
    return this.serial(async () => {
      if (isSystem(name)) throw new ProjectionError('precondition', `The system projection '${name}' cannot be reset here`);
      const runner = this.runners.get(name);
      if (runner) await runner.stop('Stopped', false);
      const record = this.recordOf(name);
      const wasRunning = runner !== undefined;
      const reset: ProjectionRecord = {
        ...record,
        position: -1,
        epoch: record.epoch + 1,
        eventsProcessed: 0,
        status: wasRunning ? 'Running' : record.status === 'Faulted' ? 'Stopped' : record.status,
        enabled: wasRunning || record.enabled,
        reason: '',
      };
      await this.access.commitProjection({ kind: 'projection', name, record: reset, clearStates: true });
      if (wasRunning) this.run(reset);
    });
  }

  delete(name: string, options: { deleteEmittedStreams: boolean; deleteStateStream: boolean; deleteCheckpointStream: boolean }): Promise<void> {
    return this.serial(async () => {
      if (isSystem(name)) throw new ProjectionError('precondition', `The system projection '${name}' cannot be deleted`);
      const record = this.recordOf(name);
      if (this.runners.has(name)) throw new ProjectionError('precondition', `Cannot delete the projection '${name}' while it runs: disable it first`);
      const deleteStreams = options.deleteEmittedStreams ? this.access.projections.emittedStreams(name) : [];
      if (options.deleteStateStream) deleteStreams.push(`$projections-${record.name}-result`);
      await this.access.commitProjection({ kind: 'projection', name, remove: true, deleteStreams });
      this.transient.delete(name);
    });
  }

  state(name: string, partition: string): unknown {
    this.assertKnown(name);
    const row = this.access.projections.state(name, partition);
    return row ? (JSON.parse(row.state) as unknown) : undefined;
  }

  result(name: string, partition: string): unknown {
    this.assertKnown(name);
    const row = this.access.projections.state(name, partition);
    if (!row) return undefined;
    return JSON.parse(row.result ?? row.state) as unknown;
  }

  /** Stops every projection (writing its checkpoint) and starts those that were running again. */
  restartSubsystem(): Promise<void> {
    return this.serial(async () => {
      const running = [...this.runners.values()];
      await Promise.all(running.map((runner) => runner.stop('Stopped', true)));
      for (const runner of running) {
        const record = this.access.projections.record(runner.record.name);
        if (record) {
          const restarted: ProjectionRecord = { ...record, enabled: true, status: 'Running' };
          await this.access.commitProjection({ kind: 'projection', name: record.name, record: restarted });
          this.run(restarted);
        }
      }
    });
  }

  /** Stops the runners without changing what is recorded, so a restart resumes them. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    await Promise.all([...this.runners.values()].map(async (runner) => {
      const record = runner.record;
      await runner.stop('Stopped', true);
      // Shutting down is not disabling: record it as running again.
      const current = this.access.projections.record(record.name);
      if (current && current.status === 'Stopped') await this.access.commitProjection({ kind: 'projection', name: current.name, record: { ...current, enabled: true, status: 'Running' } });
    }));
  }

  private run(record: ProjectionRecord): void {
    if (this.closed) return;
    const runner = new ProjectionRunner({ log: this.log, access: this.access, limits: this.limits }, record, (settled) => {
      if (this.runners.get(settled.record.name) === settled) this.runners.delete(settled.record.name);
    });
    this.runners.set(record.name, runner);
    runner.start();
  }

  private summaryOf(record: ProjectionRecord): ProjectionSummary {
    const runner = this.runners.get(record.name);
    const live = runner?.record ?? record;
    const position = runner ? runner.position : record.position;
    const status = live.status === 'Completed' ? 'Completed/Stopped' : live.status === 'Aborted' ? 'Aborted/Stopped' : live.status;
    return {
      name: record.name,
      mode: this.transient.has(record.name) ? 'Transient' : record.mode,
      status,
      reason: live.reason,
      position,
      progress: live.status === 'Completed' ? 100 : this.progressOf(position),
      eventsProcessedAfterRestart: runner?.eventsProcessedAfterRestart ?? 0,
      partitionsCached: this.access.projections.partitionCount(record.name),
      version: live.version,
      epoch: live.epoch,
      emitEnabled: live.emitEnabled,
      trackEmittedStreams: live.trackEmittedStreams,
    };
  }

  private progressOf(position: number): number {
    const head = this.log.headPosition();
    if (head <= 0 || position >= head) return 100;
    return Math.max(0, Math.floor((Math.max(position, 0) / head) * 10_000) / 100);
  }

  private recordOf(name: string): ProjectionRecord {
    const record = this.access.projections.record(name);
    if (!record) throw notFound(name);
    return record;
  }

  private assertKnown(name: string): void {
    if (!isSystem(name)) this.recordOf(name);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

export function isSystem(name: string): name is SystemProjectionName {
  return (SYSTEM_PROJECTIONS as readonly string[]).includes(name);
}

function notFound(name: string): ProjectionError {
  return new ProjectionError('not_found', `Projection '${name}' not found`);
}
