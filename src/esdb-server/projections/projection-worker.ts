// The server thread's handle on one projection's worker thread: one request at a time, a
// watchdog that terminates the thread when one handler call runs over the time limit (a loop
// that never ends included), and the thread's heap capped (an allocation bomb ends the thread,
// never the server). Either way the request answers with a fault reason, as EventStoreDB words it.
import { Worker } from 'node:worker_threads';
import { projectionWorkerSource } from './worker-source.js';
import { PHASE_HANDLER, PROGRESS_PHASE, PROGRESS_SEQUENCE, type FromWorker, type SourceDefinition, type ToWorker, type WireEvent } from './wire.js';

export interface ProjectionLimits {
  /** Longest one handler call may run (EventStoreDB's ProjectionExecutionTimeout, 250 ms). */
  executionTimeoutMs: number;
  /** Longest compiling the query or serialising the states of a batch may run. */
  otherTimeoutMs: number;
  /** Heap of the projection's thread. */
  memoryLimitMb: number;
}

export const DEFAULT_PROJECTION_LIMITS: ProjectionLimits = { executionTimeoutMs: 250, otherTimeoutMs: 5_000, memoryLimitMb: 128 };

/**
 * A handler over its time limit still gets this long before the thread is terminated, so that one
 * filling the heap is reported as out of memory (V8 takes a few hundred ms of collections to give
 * up) rather than as a timeout. It runs on its own thread meanwhile: nothing else waits on it.
 */
const OUT_OF_MEMORY_GRACE_MS = 4_000;

export type WorkerAnswer = { ok: true; changes: string } | { ok: false; reason: string };

export class ProjectionWorker {
  private readonly worker: Worker;
  private readonly progress = new Int32Array(new SharedArrayBuffer(8));
  private waiting: ((message: FromWorker) => void) | undefined;
  private dead: string | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private lastSequence = -1;
  private lastChangeAt = 0;

  constructor(private readonly limits: ProjectionLimits) {
    this.worker = new Worker(projectionWorkerSource(), {
      eval: true,
      workerData: { progress: this.progress.buffer },
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryLimitMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    this.worker.unref();
    this.worker.on('message', (message: FromWorker) => this.answer(message));
    this.worker.on('error', (error: Error & { code?: string }) => {
      this.kill(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `Script has exceeded its memory limit of ${limits.memoryLimitMb} MB`
          : `The projection's thread failed: ${error.message}`,
      );
    });
    this.worker.on('exit', () => this.kill('The projection has stopped'));
    this.watchdog = setInterval(() => this.check(), Math.max(10, Math.min(50, limits.executionTimeoutMs / 5)));
    this.watchdog.unref();
  }

  async init(name: string, query: string, emitEnabled: boolean, statesJson: string): Promise<{ ok: true; definition: SourceDefinition } | { ok: false; reason: string }> {
    const message = await this.request({ type: 'init', name, query, emitEnabled, statesJson });
    if (message.type === 'ready') return { ok: true, definition: message.definition };
    return { ok: false, reason: message.type === 'fault' ? message.reason : 'unexpected answer' };
  }

  async batch(events: WireEvent[]): Promise<WorkerAnswer> {
    const message = await this.request({ type: 'batch', events });
    if (message.type === 'done') return { ok: true, changes: message.changes };
    return { ok: false, reason: message.type === 'fault' ? message.reason : 'unexpected answer' };
  }

  async close(): Promise<void> {
    this.dead ??= 'The projection has stopped';
    clearInterval(this.watchdog);
    await this.worker.terminate();
  }

  private request(message: ToWorker): Promise<FromWorker> {
    if (this.dead) return Promise.resolve({ type: 'fault', reason: this.dead });
    if (this.waiting) throw new Error('one request at a time');
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.lastSequence = Atomics.load(this.progress, PROGRESS_SEQUENCE);
      this.lastChangeAt = Date.now();
      this.worker.postMessage(message);
    });
  }

  private answer(message: FromWorker): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(message);
  }

  private check(): void {
    if (!this.waiting || this.dead) return;
    const sequence = Atomics.load(this.progress, PROGRESS_SEQUENCE);
    const now = Date.now();
    if (sequence !== this.lastSequence) {
      this.lastSequence = sequence;
      this.lastChangeAt = now;
      return;
    }
    const handler = Atomics.load(this.progress, PROGRESS_PHASE) === PHASE_HANDLER;
    const limit = handler ? this.limits.executionTimeoutMs : this.limits.otherTimeoutMs;
    if (now - this.lastChangeAt > limit + OUT_OF_MEMORY_GRACE_MS) {
      this.kill(handler ? `The operation has timed out: a handler ran longer than ${limit} ms` : `The operation has timed out after ${limit} ms`);
    }
  }

  private kill(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    clearInterval(this.watchdog);
    void this.worker.terminate();
    this.answer({ type: 'fault', reason });
  }
}
