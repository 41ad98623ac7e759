// One read-model commit at a time for the groups of a runner, each taking every write queued
// before it began. Projection batches and handlers' "handled" records queued during a turn of
// the event loop are written together at its end (setImmediate): one transaction, each write
// in its own savepoint, one commit; only then is each write reported done, so its event is
// acked after the commit that records it. A commit is most of what a small write costs: with
// one group per projection and per handler each committing on its own, a lifecycle of six
// events made ~20 commits.
// On SQLite the transaction begins and commits in one synchronous step, so nothing is ever
// queued behind one. On PostgreSQL a commit takes round trips (the savepoints' releases, the
// COMMIT), and the writes queued meanwhile wait for it and then go in the next, all of them
// together: with a transaction per turn instead, each commit held one or two events, the
// transactions ran side by side on the pool (an order's next event could commit before its
// predecessor and be refused as early, then retried), and under the `npm start` load the
// projections fell 32 s behind. No write waits when none is under way.
// A write that throws rolls back only its own savepoint; a commit that fails fails every write
// of that commit (their events are redelivered and, being idempotent, applied again).
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';

export interface SharedCommit {
  /** Queues `fn` for the end of this turn (or the commit after the one under way); resolves with its result once committed. */
  write<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T>;
  /** Writes and commits what is queued now (the turn's end does it otherwise); resolves once committed. */
  flush(): Promise<void>;
}

interface Queued {
  fn: (tx: ReadModelTx) => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export function sharedCommit(store: ReadModelStore): SharedCommit {
  let queue: Queued[] = [];
  let scheduled = false;
  /** The commits under way: set while one runs, until the queue is empty. */
  let committing: Promise<void> | undefined;

  const commit = async (writes: Queued[]): Promise<void> => {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await store.transaction(async (tx) => {
        for (const write of writes) {
          try {
            // Nested in the outer transaction: a savepoint, rolled back alone if fn throws.
            outcomes.push({ ok: true, value: await tx.transaction(write.fn) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const write of writes) write.reject(error);
      return;
    }
    writes.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  };

  /** Commits what is queued, then what was queued meanwhile, until nothing is. */
  const drain = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const writes = queue;
        queue = [];
        await commit(writes);
      }
    } finally {
      committing = undefined;
    }
  };

  const flush = (): Promise<void> => {
    scheduled = false;
    committing ??= queue.length > 0 ? drain() : undefined;
    return committing ?? Promise.resolve();
  };

  return {
    flush,
    write<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        // While a commit is under way, the next one takes this write: nothing to schedule.
        if (!scheduled && !committing) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
