// What EventStoreDB writes into a database when it is created, before any client event: the
// epoch of the node that created it, as a `$epoch-information` event in the stream of that name
// (EventStoreDB writes the epoch record itself, then this event). So, as there, `$all` read from
// the start is never empty and begins with a system event, and the first client event does not
// sit at the first position. (EventStoreDB writes a further epoch at every start as leader; this
// store writes one when its file is created.)
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { uuidToBytes } from './uuid-bytes.js';

export const EPOCH_INFORMATION_STREAM = '$epoch-information';
export const EPOCH_INFORMATION_EVENT_TYPE = '$epoch-information';

/** Writes the creation events into a store that has no event at all; a no-op otherwise. */
export function writeGenesisEvents(db: Database.Database): void {
  db.transaction(() => {
    const any = db.prepare('SELECT 1 FROM events LIMIT 1').get();
    if (any) return;
    const now = Date.now();
    const data = {
      epochPosition: 0,
      epochNumber: 0,
      epochId: randomUUID(),
      prevEpochPosition: -1,
      timeStamp: new Date(now).toISOString(),
      leaderInstanceId: randomUUID(),
    };
    const { id } = db
      .prepare<[string], { id: number }>('INSERT INTO streams (name, last_revision) VALUES (?, 0) ON CONFLICT (name) DO UPDATE SET last_revision = 0 RETURNING id')
      .get(EPOCH_INFORMATION_STREAM)!;
    db.prepare<[number, Buffer, string, number, Buffer, Buffer]>(
      `INSERT INTO events (stream_id, revision, event_id, type, content_type, created_us, data, metadata) VALUES (?, 0, ?, ?, 'application/json', ?, ?, ?)`,
    ).run(id, uuidToBytes(randomUUID()), EPOCH_INFORMATION_EVENT_TYPE, now * 1000, Buffer.from(JSON.stringify(data)), Buffer.alloc(0));
  }).immediate();
}
