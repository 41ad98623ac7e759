// The SQLite layout of the event log, shared by the reading and the writing connection.
import Database from 'better-sqlite3';
import { PROJECTION_SCHEMA } from './projection-storage.js';
import type { RecordedEvent } from './types.js';
import { bytesToUuid } from './uuid-bytes.js';
import { writeGenesisEvents } from './genesis.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  last_revision INTEGER NOT NULL DEFAULT -1,
  tombstoned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  event_id BLOB NOT NULL,
  type TEXT NOT NULL,
  content_type TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  data BLOB NOT NULL,
  metadata BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, revision);
CREATE TABLE IF NOT EXISTS links (
  stream_id INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  target INTEGER NOT NULL,
  PRIMARY KEY (stream_id, revision)
) WITHOUT ROWID;
`;

export type Synchronous = 'FULL' | 'NORMAL';

export function openLogDatabase(file: string, synchronous: Synchronous): Database.Database {
  const db = new Database(file);
  if (file !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
  }
  db.pragma(`synchronous = ${synchronous}`);
  // 16 MB page cache per connection (reader and writer), whatever the store's size: the OS page
  // cache holds the rest, and the server's memory stays flat as the store grows.
  db.pragma('cache_size = -16000');
  db.exec(SCHEMA);
  db.exec(PROJECTION_SCHEMA);
  writeGenesisEvents(db);
  return db;
}

export const EVENT_COLUMNS = 'e.position, e.revision, e.event_id, e.type, e.content_type, e.created_us, e.data, e.metadata';

export interface EventRow {
  position: number;
  revision: number;
  event_id: Buffer;
  type: string;
  content_type: string;
  created_us: number;
  data: Buffer;
  metadata: Buffer;
  stream: string;
}

export function toRecorded(row: EventRow): RecordedEvent {
  return {
    stream: row.stream,
    revision: row.revision,
    position: row.position,
    id: bytesToUuid(row.event_id),
    type: row.type,
    contentType: row.content_type,
    data: row.data,
    metadata: row.metadata,
    created: BigInt(row.created_us) * 10n,
  };
}
