// One-row INSERTs that a transaction writes (tx.write) held back and sent as multi-row INSERTs,
// one per table and statement rather than one per event (PostgreSQL: each statement costs its
// bind, plan and execution, and the driver's encoding, whatever its size). A batch of 1,000
// events wrote ~4.8 statements an event, most of them one-row inserts.
//
// What is sent is what the one-row statements, run in the order written, would have done:
// - the rows held for a table are sent before any other statement that names the table (an
//   UPDATE of a row just inserted sees it), before any statement whose answer is read, and
//   before a savepoint begins or ends or the transaction commits;
// - in a multi-row INSERT the rows are inserted one after the other, so `ON CONFLICT DO NOTHING`
//   (or no ON CONFLICT) behaves as the rows written one by one;
// - `ON CONFLICT (key) DO UPDATE` cannot touch one row twice in one statement: rows of the same
//   key go into successive statements, in the order written. Rows of different keys may be sent
//   in another order than written (they touch different rows, and what a DO UPDATE changes
//   depends only on its own row and the row proposed).
// Statements of other shapes (several rows, RETURNING, a SELECT) are not held.
import { numberPlaceholders } from './postgres-dialect.js';
import type { SqlParams } from './read-model-store.js';

interface InsertShape {
  table: string;
  /** `INSERT INTO t (cols) VALUES ` */
  head: string;
  /** `(?, ?, 'x', ?)`: repeated once a row. */
  tuple: string;
  /** `ON CONFLICT ...` (or empty). */
  tail: string;
  /** Parameters a row (its `?` count). */
  width: number;
  /** DO UPDATE: the indexes, among the row's parameters, of the conflict key's values. */
  key: number[] | undefined;
}

/** Parameters a statement at most (PostgreSQL takes 65,535). */
const MAX_PARAMS = 30_000;

const shapes = new Map<string, InsertShape | null>();

/** The statement as a one-row INSERT that can be combined, or null. */
export function insertShape(sql: string): InsertShape | null {
  let shape = shapes.get(sql);
  if (shape === undefined) {
    shape = parseInsert(sql);
    if (shapes.size < 1_000) shapes.set(sql, shape);
  }
  return shape;
}

function parseInsert(sql: string): InsertShape | null {
  const head = /^\s*INSERT\s+INTO\s+([a-z_][a-z0-9_]*)\s*\(([^()]*)\)\s*VALUES\s*/i.exec(sql);
  if (!head) return null;
  const columns = head[2]!.split(',').map((column) => column.trim().toLowerCase());
  const start = head[0].length;
  if (sql[start] !== '(') return null;
  const items = topLevelItems(sql, start);
  if (!items) return null;
  const tail = sql.slice(items.end).trim();
  if (tail !== '' && !/^ON\s+CONFLICT\b/i.test(tail)) return null;
  if (/\bRETURNING\b|\bSELECT\b|'|"|--|;/i.test(tail)) return null;
  // Placeholders are counted by hand here: an item that quotes something and has a `?` is not combined.
  if (items.values.some((value) => /['"]|--/.test(value) && value.includes('?'))) return null;
  if (items.values.length !== columns.length) return null;
  const width = items.values.reduce((sum, value) => sum + (value.match(/\?/g)?.length ?? 0), 0);
  if (width === 0) return null;
  let key: number[] | undefined;
  const update = /^ON\s+CONFLICT\s*\(([^()]*)\)\s*DO\s+UPDATE\b/i.exec(tail);
  if (update) {
    // The key's values must be plain parameters, to know which rows share a key.
    const paramIndex = new Map<number, number>();
    let n = 0;
    items.values.forEach((value, at) => {
      if (value.trim() === '?') paramIndex.set(at, n);
      n += value.match(/\?/g)?.length ?? 0;
    });
    key = [];
    for (const column of update[1]!.split(',').map((name) => name.trim().toLowerCase())) {
      const index = paramIndex.get(columns.indexOf(column));
      if (index === undefined) return null;
      key.push(index);
    }
  } else if (tail !== '' && !/^ON\s+CONFLICT\s*(\([^()]*\))?\s*DO\s+NOTHING\s*$/i.test(tail)) {
    return null;
  }
  return { table: head[1]!.toLowerCase(), head: sql.slice(0, start), tuple: sql.slice(start, items.end), tail, width, key };
}

/** The comma-separated items of the parenthesised list at `start`, and where it ends. */
function topLevelItems(sql: string, start: number): { values: string[]; end: number } | null {
  let depth = 0;
  let quote: string | undefined;
  let from = start + 1;
  const values: string[] = [];
  for (let i = start; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        values.push(sql.slice(from, i));
        return { values, end: i + 1 };
      }
    } else if (ch === ',' && depth === 1) {
      values.push(sql.slice(from, i));
      from = i + 1;
    }
  }
  return null;
}

interface HeldRow {
  sql: string;
  shape: InsertShape;
  params: SqlParams;
}

export interface CombinedStatement {
  /** Numbered placeholders. */
  text: string;
  params: SqlParams;
  /** The one-row statement as written (sent as its prepared statement when alone). */
  single?: string;
}

/** The rows one open transaction holds back, by table. */
export class CombinedInserts {
  private readonly held = new Map<string, HeldRow[]>();

  /** Holds the statement when it is a one-row INSERT that can be combined; false when it is not. */
  hold(sql: string, params: SqlParams): boolean {
    const shape = insertShape(sql);
    if (!shape || params.length !== shape.width) return false;
    const rows = this.held.get(shape.table);
    if (rows) rows.push({ sql, shape, params });
    else this.held.set(shape.table, [{ sql, shape, params }]);
    return true;
  }

  get empty(): boolean {
    return this.held.size === 0;
  }

  /** The statements for the rows of every table `sql` names (all of them when `sql` is undefined); those rows are no longer held. */
  take(sql?: string): CombinedStatement[] {
    if (this.held.size === 0) return [];
    const lower = sql?.toLowerCase();
    const out: CombinedStatement[] = [];
    for (const [table, rows] of this.held) {
      if (lower !== undefined && !lower.includes(table)) continue;
      this.held.delete(table);
      out.push(...statementsFor(rows));
    }
    return out;
  }

  /** Forgets what is held (the savepoint or transaction it was written in is rolled back). */
  discard(): void {
    this.held.clear();
  }
}

/** Runs of the same statement, in the order written; a DO UPDATE run split by key into rounds. */
function statementsFor(rows: HeldRow[]): CombinedStatement[] {
  const out: CombinedStatement[] = [];
  let at = 0;
  while (at < rows.length) {
    let end = at + 1;
    while (end < rows.length && rows[end]!.sql === rows[at]!.sql) end++;
    const run = rows.slice(at, end);
    const shape = run[0]!.shape;
    for (const round of shape.key ? roundsByKey(run, shape.key) : [run]) out.push(...chunks(round, shape));
    at = end;
  }
  return out;
}

/** The n-th round holds each key's n-th row: no statement touches a row twice, and each key's rows keep their order. */
function roundsByKey(run: HeldRow[], key: number[]): HeldRow[][] {
  const rounds: HeldRow[][] = [];
  const seen = new Map<string, number>();
  for (const row of run) {
    const id = JSON.stringify(key.map((index) => row.params[index] ?? null));
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    (rounds[n] ??= []).push(row);
  }
  return rounds;
}

function chunks(rows: HeldRow[], shape: InsertShape): CombinedStatement[] {
  const out: CombinedStatement[] = [];
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / shape.width));
  for (let at = 0; at < rows.length; at += perStatement) {
    const part = rows.slice(at, at + perStatement);
    if (part.length === 1) {
      out.push({ text: numberPlaceholders(part[0]!.sql), params: part[0]!.params, single: part[0]!.sql });
      continue;
    }
    const text = numberPlaceholders(`${shape.head}${Array.from({ length: part.length }, () => shape.tuple).join(', ')} ${shape.tail}`);
    out.push({ text, params: part.flatMap((row) => row.params) });
  }
  return out;
}
