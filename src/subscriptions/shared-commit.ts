// One SQLite commit per turn of the event loop for the groups of a runner. Projection batches
// and handlers' "handled" records queued during a turn are written together at its end
// (setImmediate): one transaction, each write in its own savepoint, one commit; only then is
// each write reported done, so its event is acked after the commit that records it. A commit is
// most of what a small write costs: with one group per projection and per handler each
// committing on its own, a lifecycle of six events made ~20 commits.
// Nothing stays open between turns: the transaction begins and commits in one synchronous
// step, so another connection to the file (the API's, another worker's) never waits on it
// for longer than that step. A write that throws rolls back only its own savepoint; a commit
// that fails fails every write of the turn (their events are redelivered and, being
// idempotent, applied again).
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';

export interface SharedCommit {
  /** Queues `fn` for the end of this turn; resolves with its result once committed. */
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

  const flush = async (): Promise<void> => {
    scheduled = false;
    const writes = queue;
    queue = [];
    if (writes.length === 0) return;
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

  return {
    flush,
    write<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
