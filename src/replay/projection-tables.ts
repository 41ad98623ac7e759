// The tables a projection owns, read from its schema: what a swap replaces and a dry run compares.
import type { ProjectionDefinition } from '../readmodels/projection.js';

const CREATE_TABLE = /CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?["`[]?([A-Za-z_][A-Za-z0-9_]*)["`\]]?/gi;

export function projectionTables(projection: Pick<ProjectionDefinition, 'name' | 'schema'>): string[] {
  const tables = [...projection.schema.matchAll(CREATE_TABLE)].map((match) => match[1]!);
  if (tables.length === 0) throw new Error(`projection '${projection.name}' declares no table in its schema`);
  return [...new Set(tables)];
}
