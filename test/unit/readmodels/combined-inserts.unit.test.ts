// Which one-row INSERTs a PostgreSQL transaction may hold back and send together, and what it
// sends for them (combined-inserts.ts): the statements are checked by running them in
// batched-equivalence.unit.test.ts; here, the shapes it takes and the ones it leaves alone.
import { describe, expect, it } from 'vitest';
import { CombinedInserts, insertShape } from '../../../src/readmodels/combined-inserts.js';

describe('one-row inserts held back and sent together', () => {
  it('takes a one-row INSERT with no ON CONFLICT, DO NOTHING, or DO UPDATE on a key of plain parameters', () => {
    expect(insertShape('INSERT INTO t (a, b) VALUES (?, ?)')).toMatchObject({ table: 't', width: 2, key: undefined });
    expect(insertShape("INSERT INTO t (a, b, c) VALUES (?, 'reserved', ?) ON CONFLICT DO NOTHING")).toMatchObject({ width: 2, key: undefined });
    expect(insertShape('INSERT INTO t (a, b, c) VALUES (?, ?, ?) ON CONFLICT (b, a) DO UPDATE SET c = t.c + excluded.c')).toMatchObject({ width: 3, key: [1, 0] });
  });

  it('leaves alone what it cannot send as the same rows one after the other', () => {
    for (const sql of [
      'INSERT INTO t (a) VALUES (?) RETURNING a',
      'INSERT INTO t (a) SELECT ? WHERE true',
      'INSERT INTO t (a, b) VALUES (?, ?), (?, ?)',
      "INSERT INTO t (a, b) VALUES (?, '?')",
      'INSERT INTO t (a, b) VALUES (lower(?), ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b',
      'INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = (SELECT max(b) FROM t)',
      'UPDATE t SET a = ? WHERE b = ?',
    ]) {
      expect(insertShape(sql), sql).toBeNull();
    }
  });

  it("sends a table's rows before a statement that names the table, each key's DO UPDATE rows in successive statements", () => {
    const held = new CombinedInserts();
    const upsert = 'INSERT INTO sums (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = sums.n + excluded.n';
    for (const [k, n] of [['x', 1], ['y', 2], ['x', 3], ['z', 4], ['x', 5]] as const) expect(held.hold(upsert, [k, n])).toBe(true);
    expect(held.hold('INSERT INTO other (a) VALUES (?) ON CONFLICT DO NOTHING', ['a1'])).toBe(true);
    expect(held.hold('INSERT INTO other (a) VALUES (?) ON CONFLICT DO NOTHING', ['a1'])).toBe(true);
    expect(held.take('UPDATE elsewhere SET a = 1')).toEqual([]);
    expect(held.take('UPDATE sums SET n = 0')).toEqual([
      { text: 'INSERT INTO sums (k, n) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT (k) DO UPDATE SET n = sums.n + excluded.n', params: ['x', 1, 'y', 2, 'z', 4] },
      { text: 'INSERT INTO sums (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = sums.n + excluded.n', params: ['x', 3], single: upsert },
      { text: 'INSERT INTO sums (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = sums.n + excluded.n', params: ['x', 5], single: upsert },
    ]);
    // DO NOTHING: duplicates in one statement keep the first, as one by one.
    expect(held.take()).toEqual([{ text: 'INSERT INTO other (a) VALUES ($1), ($2) ON CONFLICT DO NOTHING', params: ['a1', 'a1'] }]);
    expect(held.empty).toBe(true);
  });
});
