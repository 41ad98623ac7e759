// Exact sums of amounts in the read models. One amount fits a JavaScript number exactly (events
// carry at most 2^53 - 1, new ones at most 10^12), but sums over many orders do not: SQLite's
// SUM() of integers fails with "integer overflow" past 2^63, and a JavaScript number loses units
// past 2^53. Sums are read as decimal text (CAST(... AS TEXT): exact for any integer SQLite holds,
// and portable SQL), added as BigInt, and handed out as decimal strings.
import type { ReadModelTx, SqlParams } from './read-model-store.js';

/** An integer column or aggregate read as text (or a number), as a BigInt. */
export function toBigInt(value: unknown): bigint {
  if (value === null || value === undefined || value === '') return 0n;
  if (typeof value === 'bigint') return value;
  const text = String(value);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  // A REAL left by an older version of the projection (SQLite turned an overflowing integer
  // into a float): as close as it still is; `orders replay` rebuilds it exactly.
  const number = Number(text);
  return Number.isFinite(number) ? BigInt(Math.round(number)) : 0n;
}

/** `a + b` of two decimal strings (or numbers), as a decimal string. */
export function addDecimal(a: unknown, b: unknown): string {
  return (toBigInt(a) + toBigInt(b)).toString();
}

/**
 * Runs `grouped` (sums as `CAST(SUM(x) AS TEXT)`); when the database cannot sum them as
 * integers (SQLite past 2^63, or a REAL among the rows), runs `perRow` instead, which returns
 * the same key columns and each row's amounts, and adds those up here as BigInt.
 */
export async function sumsExactly<Row extends object>(
  tx: ReadModelTx,
  spec: { grouped: string; perRow: string; params: SqlParams; keys: readonly string[]; sums: readonly string[]; counts?: readonly string[] },
): Promise<Row[]> {
  // (PostgreSQL sums integers as numeric, exact at any size: only SQLite takes the per-row path.)
  try {
    const rows = await tx.all<Record<string, unknown>>(spec.grouped, ...spec.params);
    if (rows.every((row) => spec.sums.every((column) => row[column] === null || /^-?\d+$/.test(String(row[column]))))) {
      return rows.map((row) => ({ ...row, ...Object.fromEntries(spec.sums.map((column) => [column, toBigInt(row[column]).toString()])) }) as unknown as Row);
    }
  } catch (error) {
    if (!(error instanceof Error) || !/integer overflow/i.test(error.message)) throw error;
  }
  const groups = new Map<string, Record<string, unknown>>();
  for (const row of await tx.all<Record<string, unknown>>(spec.perRow, ...spec.params)) {
    const key = JSON.stringify(spec.keys.map((column) => row[column]));
    let group = groups.get(key);
    if (!group) {
      group = { ...Object.fromEntries(spec.keys.map((column) => [column, row[column]])) };
      for (const column of spec.sums) group[column] = 0n;
      for (const column of spec.counts ?? []) group[column] = 0;
      groups.set(key, group);
    }
    for (const column of spec.sums) group[column] = (group[column] as bigint) + toBigInt(row[column]);
    for (const column of spec.counts ?? []) group[column] = (group[column] as number) + Number(row[column] ?? 0);
  }
  return [...groups.values()].map((group) => ({ ...group, ...Object.fromEntries(spec.sums.map((column) => [column, (group[column] as bigint).toString()])) }) as unknown as Row);
}

/**
 * Adds to one row of running sums, keyed by `key` (its primary key's columns): `counts` are
 * INTEGER columns, `amounts` decimal TEXT columns added exactly whatever their size. A missing row
 * is made with the changes as its values.
 */
export async function addToSums(
  tx: ReadModelTx,
  table: string,
  key: Record<string, unknown>,
  counts: Record<string, number>,
  amounts: Record<string, number | string>,
): Promise<void> {
  const keyColumns = Object.keys(key);
  const columns = [...keyColumns, ...Object.keys(counts), ...Object.keys(amounts)];
  const values = [...Object.values(key), ...Object.values(counts), ...Object.values(amounts).map(String)];
  if (tx.dialect === 'postgres') {
    // One upsert, summed by the server (numeric is exact at any size): workers on other hosts
    // adding to the same row at once cannot lose each other's additions.
    await tx.write(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
       ON CONFLICT (${keyColumns.join(', ')}) DO UPDATE SET ${[
         ...Object.keys(counts).map((column) => `${column} = ${table}.${column} + excluded.${column}`),
         ...Object.keys(amounts).map((column) => `${column} = CAST(CAST(${table}.${column} AS NUMERIC) + CAST(excluded.${column} AS NUMERIC) AS TEXT)`),
       ].join(', ')}`,
      ...values,
    );
    return;
  }
  // SQLite: one writer at a time, so reading the row and writing it back is safe.
  const where = keyColumns.map((column) => `${column} = ?`).join(' AND ');
  const row = await tx.get<Record<string, unknown>>(`SELECT ${Object.keys(amounts).map((column) => `CAST(${column} AS TEXT) AS ${column}`).join(', ')} FROM ${table} WHERE ${where}`, ...Object.values(key));
  if (!row) {
    await tx.write(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, ...values);
    return;
  }
  const sets = [...Object.keys(counts).map((column) => `${column} = ${column} + ?`), ...Object.keys(amounts).map((column) => `${column} = ?`)];
  await tx.write(
    `UPDATE ${table} SET ${sets.join(', ')} WHERE ${where}`,
    ...Object.values(counts),
    ...Object.entries(amounts).map(([column, change]) => addDecimal(row[column] ?? '0', change)),
    ...Object.values(key),
  );
}
