// Where the log's writes run. A file-backed log writes on a thread of its own, so that while one
// group is being committed and synced the server's thread keeps decoding requests, which then
// make up the next group. An in-memory log writes in-thread on its one connection.
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { commitFailure } from './errors.js';
import { type CommitOutcome, LogWriter, type Operation } from './log-writer.js';
import type { Synchronous } from './sqlite-schema.js';

export interface WriterChannel {
  /** Commits one group; rejects when the group could not be committed (nothing of it was written). */
  commit(operations: Operation[]): Promise<CommitOutcome>;
  close(): Promise<void>;
}

export function inThreadWriter(db: Database.Database): WriterChannel {
  const writer = new LogWriter(db);
  return {
    commit: (operations) => new Promise((resolve, reject) => setImmediate(() => {
      try {
        resolve(writer.commit(operations));
      } catch (error) {
        reject(commitFailure(error));
      }
    })),
    close: async () => {},
  };
}

export interface WriterThreadData {
  file: string;
  synchronous: Synchronous;
}

type Reply = { id: number; outcome: CommitOutcome } | { id: number; error: string; code?: string };

export function threadWriter(data: WriterThreadData): WriterChannel {
  const worker = new Worker(bootstrap(), { eval: true, workerData: data });
  const waiting = new Map<number, { resolve: (outcome: CommitOutcome) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: Reply) => {
    const entry = waiting.get(reply.id);
    if (!entry) return;
    waiting.delete(reply.id);
    if ('error' in reply) entry.reject(commitFailure(Object.assign(new Error(reply.error), { code: reply.code })));
    else entry.resolve(reply.outcome);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`the event log's writer thread exited (code ${code})`)));
  return {
    commit(operations) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, operations });
      });
    },
    async close() {
      if (failure) return;
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage({ close: true });
      });
    },
  };
}

/** Run from TypeScript sources (tsx, vitest), a worker does not inherit the loader: register it first. */
function bootstrap(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./writer-thread${fromSource ? '.ts' : '.js'}`, import.meta.url).href;
  if (!fromSource) return `import(${JSON.stringify(entry)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}
