// A real store whose commits are counted: its outermost transactions (the nested ones are
// savepoints), to show how many events or writes share one.
import type { ReadModelStore } from '../../src/readmodels/read-model-store.js';

export function countingCommits(db: ReadModelStore): { commits: number; store: ReadModelStore } {
  const counter = { commits: 0, store: db };
  let depth = 0;
  counter.store = {
    ...db,
    transaction: async (fn) => {
      if (depth++ === 0) counter.commits++;
      try {
        return await db.transaction(fn);
      } finally {
        depth--;
      }
    },
  };
  return counter;
}
