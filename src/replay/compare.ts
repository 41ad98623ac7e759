// What a dry run reports: per table of the projection, rows live, rows rebuilt, and how many
// rows are only on one side (a changed row counts on both).
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import { projectionTables } from './projection-tables.js';

export interface TableComparison {
  table: string;
  liveRows: number;
  rebuiltRows: number;
  /** Rows the rebuild would remove (or change). */
  onlyLive: number;
  /** Rows the rebuild would add (or change into). */
  onlyRebuilt: number;
  /** Set when the tables cannot be compared row by row (e.g. the schema changed). */
  note?: string;
}

export function compareWithLive(liveFile: string, copyFile: string, projection: ProjectionDefinition): TableComparison[] {
  const db = new Database(copyFile, { readonly: true });
  try {
    const liveExists = existsSync(liveFile);
    if (liveExists) db.prepare('ATTACH DATABASE ? AS live').run(liveFile);
    return projectionTables(projection).map((table) => {
      const rebuiltRows = count(db, `SELECT count(*) AS n FROM main."${table}"`);
      const liveHas = liveExists && db.prepare(`SELECT 1 FROM live.sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
      if (!liveHas) return { table, liveRows: 0, rebuiltRows, onlyLive: 0, onlyRebuilt: rebuiltRows };
      const liveRows = count(db, `SELECT count(*) AS n FROM live."${table}"`);
      try {
        const onlyLive = count(db, `SELECT count(*) AS n FROM (SELECT * FROM live."${table}" EXCEPT SELECT * FROM main."${table}")`);
        const onlyRebuilt = count(db, `SELECT count(*) AS n FROM (SELECT * FROM main."${table}" EXCEPT SELECT * FROM live."${table}")`);
        return { table, liveRows, rebuiltRows, onlyLive, onlyRebuilt };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return { table, liveRows, rebuiltRows, onlyLive: liveRows, onlyRebuilt: rebuiltRows, note: `not comparable row by row (${reason})` };
      }
    });
  } finally {
    db.close();
  }
}

function count(db: Database.Database, sql: string): number {
  return (db.prepare(sql).get() as { n: number }).n;
}
