// A fresh replay of one projection, built here in memory from the events read back from the
// store (not by the replay engine under test), compared row by row with the live read model.
import type { RecordedEvent } from '@eventstore/db-client';
import { isOrderEventType } from '../../src/orders/events.js';
import { applyToProjection } from '../../src/readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../../src/readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../../src/readmodels/projection.js';
import { openReadModelStore } from '../../src/readmodels/read-model-store.js';
import { projectionTables } from '../../src/replay/projection-tables.js';

export interface TableDifference {
  table: string;
  liveRows: number;
  replayedRows: number;
  onlyLive: number;
  onlyReplayed: number;
}

export async function compareWithFreshReplay(projection: ProjectionDefinition, events: readonly RecordedEvent[], liveFile: string): Promise<TableDifference[]> {
  const store = openReadModelStore({ file: ':memory:' });
  try {
    await store.migrate(projection.schema);
    for (const recorded of events) {
      await applyToProjection(store, projection, locationOf(recorded), isOrderEventType(recorded.type) ? toEventEnvelope(recorded) : undefined);
    }
    await store.exec(`ATTACH DATABASE '${liveFile.replaceAll("'", "''")}' AS live`);
    const count = async (sql: string) => (await store.get<{ n: number }>(sql))?.n ?? 0;
    return await Promise.all(projectionTables(projection).map(async (table) => ({
      table,
      liveRows: await count(`SELECT count(*) AS n FROM live."${table}"`),
      replayedRows: await count(`SELECT count(*) AS n FROM main."${table}"`),
      onlyLive: await count(`SELECT count(*) AS n FROM (SELECT * FROM live."${table}" EXCEPT SELECT * FROM main."${table}")`),
      onlyReplayed: await count(`SELECT count(*) AS n FROM (SELECT * FROM main."${table}" EXCEPT SELECT * FROM live."${table}")`),
    })));
  } finally {
    await store.close();
  }
}
