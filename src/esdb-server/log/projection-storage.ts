// Where the projections service keeps what must survive a restart: each projection's definition,
// status and checkpoint, its state per partition and the streams it emitted to, plus whether each
// system projection runs. It lives in the event log's own SQLite file so that a projection's
// emitted events, its states and its checkpoint commit in one transaction with the log (see the
// `projection` operation of log-writer.ts): a crash leaves all of it or none of it.
import type Database from 'better-sqlite3';
import type { ProposedEvent } from './types.js';

export const PROJECTION_SCHEMA = `
CREATE TABLE IF NOT EXISTS projections (
  name TEXT PRIMARY KEY,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projection_states (
  name TEXT NOT NULL,
  partition TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT,
  PRIMARY KEY (name, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS projection_emitted_streams (
  name TEXT NOT NULL,
  stream TEXT NOT NULL,
  PRIMARY KEY (name, stream)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS system_projections (
  name TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL,
  stopped_at INTEGER NOT NULL
);
`;

export type ProjectionMode = 'Continuous' | 'OneTime' | 'Transient';

/** A projection as it is kept: definition, run status and checkpoint. */
export interface ProjectionRecord {
  name: string;
  mode: ProjectionMode;
  query: string;
  emitEnabled: boolean;
  trackEmittedStreams: boolean;
  /** Whether it should run (Enable/Disable); a faulted projection stays enabled but does not run. */
  enabled: boolean;
  /** 'Running' | 'Stopped' | 'Aborted' | 'Faulted' | 'Completed' as last left. */
  status: string;
  /** Why it faulted ('' otherwise). */
  reason: string;
  /** Position in $all of the last event the states include (-1: none yet). */
  position: number;
  version: number;
  epoch: number;
  eventsProcessed: number;
}

export interface PartitionState {
  partition: string;
  /** JSON of the state. */
  state: string;
  /** JSON of the result (transformBy / filterBy), null when it is the state itself. */
  result: string | null;
}

export interface EmittedEvent {
  stream: string;
  event: ProposedEvent;
}

/** One projection's checkpoint, written in one transaction with the events it emitted. */
export interface ProjectionWrite {
  kind: 'projection';
  name: string;
  /** The row as it is after this write; omitted with `remove`. */
  record?: ProjectionRecord;
  remove?: boolean;
  clearStates?: boolean;
  states?: PartitionState[];
  emits?: EmittedEvent[];
  /** Streams to soft-delete (Delete with deleteEmittedStreams). */
  deleteStreams?: string[];
}

export const SYSTEM_PROJECTIONS = ['$by_category', '$by_event_type', '$by_correlation_id', '$stream_by_category', '$streams'] as const;
export type SystemProjectionName = (typeof SYSTEM_PROJECTIONS)[number];

/** Enables or disables a system projection; enabling catches its link streams up in the same transaction. */
export interface SystemProjectionWrite {
  kind: 'system_projection';
  name: SystemProjectionName;
  enabled: boolean;
}

export interface SystemProjectionRow {
  name: SystemProjectionName;
  enabled: boolean;
  /** Position of the last event it linked before it was disabled (-1: it never ran). */
  stoppedAt: number;
}

/** Which system projections run on a fresh store (EventStoreDB's $stream_by_category is off here until enabled). */
export function defaultSystemProjections(): SystemProjectionRow[] {
  return SYSTEM_PROJECTIONS.map((name) => ({ name, enabled: name !== '$stream_by_category', stoppedAt: -1 }));
}

export function readSystemProjections(db: Database.Database): SystemProjectionRow[] {
  const rows = db.prepare<[], { name: string; enabled: number; stopped_at: number }>('SELECT name, enabled, stopped_at FROM system_projections').all();
  return defaultSystemProjections().map((row) => {
    const stored = rows.find((candidate) => candidate.name === row.name);
    return stored ? { name: row.name, enabled: stored.enabled === 1, stoppedAt: stored.stopped_at } : row;
  });
}

/** The reading side, on the server thread's connection. */
export class ProjectionStorage {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      all: db.prepare<[], { record: string }>('SELECT record FROM projections ORDER BY name'),
      one: db.prepare<[string], { record: string }>('SELECT record FROM projections WHERE name = ?'),
      states: db.prepare<[string], PartitionState>('SELECT partition, state, result FROM projection_states WHERE name = ?'),
      state: db.prepare<[string, string], PartitionState>('SELECT partition, state, result FROM projection_states WHERE name = ? AND partition = ?'),
      partitions: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM projection_states WHERE name = ?'),
      emitted: db.prepare<[string], { stream: string }>('SELECT stream FROM projection_emitted_streams WHERE name = ? ORDER BY stream'),
    };
  }

  records(): ProjectionRecord[] {
    return this.statements.all.all().map((row) => JSON.parse(row.record) as ProjectionRecord);
  }

  record(name: string): ProjectionRecord | undefined {
    const row = this.statements.one.get(name);
    return row ? (JSON.parse(row.record) as ProjectionRecord) : undefined;
  }

  states(name: string): PartitionState[] {
    return this.statements.states.all(name);
  }

  state(name: string, partition: string): PartitionState | undefined {
    return this.statements.state.get(name, partition);
  }

  partitionCount(name: string): number {
    return this.statements.partitions.get(name)?.n ?? 0;
  }

  emittedStreams(name: string): string[] {
    return this.statements.emitted.all(name).map((row) => row.stream);
  }

  systemProjections(): SystemProjectionRow[] {
    return readSystemProjections(this.db);
  }
}

/** The writing side's statements, on the writer's connection (used by log-writer.ts). */
export function projectionWriteStatements(db: Database.Database) {
  return {
    upsert: db.prepare<[string, string]>('INSERT INTO projections (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record'),
    remove: db.prepare<[string]>('DELETE FROM projections WHERE name = ?'),
    clearStates: db.prepare<[string]>('DELETE FROM projection_states WHERE name = ?'),
    upsertState: db.prepare<[string, string, string, string | null]>(
      'INSERT INTO projection_states (name, partition, state, result) VALUES (?, ?, ?, ?) ON CONFLICT (name, partition) DO UPDATE SET state = excluded.state, result = excluded.result',
    ),
    trackStream: db.prepare<[string, string]>('INSERT OR IGNORE INTO projection_emitted_streams (name, stream) VALUES (?, ?)'),
    clearTracked: db.prepare<[string]>('DELETE FROM projection_emitted_streams WHERE name = ?'),
    setSystem: db.prepare<[string, number, number]>(
      'INSERT INTO system_projections (name, enabled, stopped_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, stopped_at = excluded.stopped_at',
    ),
    eventsAfter: db.prepare<[number, number], { position: number; revision: number; type: string; metadata: Buffer; stream: string }>(
      'SELECT e.position, e.revision, e.type, e.metadata, s.name AS stream FROM events e JOIN streams s ON s.id = e.stream_id WHERE e.position > ? ORDER BY e.position LIMIT ?',
    ),
  };
}
