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
// Writes that touch tables of their own (the projections' batches) may be queued to run side by
// side (writeSideBySide): on PostgreSQL they share one savepoint and their statements go out
// together on the connection, so a commit waits for one guard read and one RELEASE for all of
// them rather than for each one's in turn; if any of them fails, the savepoint is rolled back
// and each is run again alone, in a savepoint of its own, so each still gets its own outcome.
import { isConnectionLoss } from '../readmodels/connection-loss.js';
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';

export interface SharedCommit {
  /** Queues `fn` for the end of this turn (or the commit after the one under way); resolves with its result once committed. */
  write<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T>;
  /**
   * As write, run side by side with the other writes so queued (PostgreSQL; on SQLite as write):
   * `alone` is false then, and fn must open no savepoint and throw on any failure. If one of them
   * throws, every one is run again alone (`alone` true: as write), so fn must apply the same
   * events again when called a second time. One write a `key` (a projection) runs side by side
   * in a commit: a second of the same key (a later batch of its events) runs alone after them.
   */
  writeSideBySide<T>(key: string, fn: (tx: ReadModelTx, alone: boolean) => Promise<T> | T): Promise<T>;
  /** Writes and commits what is queued now (the turn's end does it otherwise); resolves once committed. */
  flush(): Promise<void>;
  /** A commit is under way (PostgreSQL): what is written now waits for it anyway. */
  readonly busy: boolean;
}

interface Queued {
  fn: (tx: ReadModelTx, alone: boolean) => unknown;
  /** Set for a write that may run side by side with others of other keys. */
  key: string | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The writes that run side by side: the first of each key. */
function firstOfEachKey(writes: readonly Queued[]): Queued[] {
  const keys = new Set<string>();
  return writes.filter((write) => write.key !== undefined && !keys.has(write.key) && keys.add(write.key));
}

/** The side-by-side writes in one savepoint: their values, or undefined when one failed (rolled back). */
async function runSideBySide(tx: ReadModelTx, writes: Queued[]): Promise<Map<Queued, unknown> | undefined> {
  try {
    return await tx.transaction(async (inner) => {
      // Every one settles before anything is thrown: none still writes once it is rolled back.
      const settled = await Promise.allSettled(writes.map(async (write) => await write.fn(inner, false)));
      const failed = settled.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      return new Map(writes.map((write, index) => [write, (settled[index] as PromiseFulfilledResult<unknown>).value]));
    });
  } catch (error) {
    // The connection is gone: nothing more can be written in this transaction.
    if (isConnectionLoss(error)) throw error;
    return undefined;
  }
}

export function sharedCommit(store: ReadModelStore): SharedCommit {
  let queue: Queued[] = [];
  let scheduled = false;
  /** The commits under way: set while one runs, until the queue is empty. */
  let committing: Promise<void> | undefined;

  const commit = async (writes: Queued[]): Promise<void> => {
    const outcomes: Outcome[] = [];
    try {
      await store.transaction(async (tx) => {
        const together = tx.dialect === 'postgres' ? firstOfEachKey(writes) : [];
        const values = together.length > 1 ? await runSideBySide(tx, together) : undefined;
        for (const write of writes) {
          if (values?.has(write)) {
            outcomes.push({ ok: true, value: values.get(write) });
            continue;
          }
          try {
            // Nested in the outer transaction: a savepoint, rolled back alone if fn throws.
            outcomes.push({ ok: true, value: await tx.transaction((savepoint) => write.fn(savepoint, true)) });
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

  const enqueue = <T>(fn: (tx: ReadModelTx, alone: boolean) => Promise<T> | T, key: string | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ fn, key, resolve: resolve as (value: unknown) => void, reject });
      // While a commit is under way, the next one takes this write: nothing to schedule.
      if (!scheduled && !committing) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });

  return {
    flush,
    get busy() {
      return committing !== undefined;
    },
    write: (fn) => enqueue((tx) => fn(tx), undefined),
    writeSideBySide: (key, fn) => enqueue(fn, key),
  };
}
