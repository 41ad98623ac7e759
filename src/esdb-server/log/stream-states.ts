// What the log knows of each stream (id, last revision, tombstone, metadata), read from the
// `streams` table and the stream's `$$` metadata stream, with a bounded LRU in front.
import type Database from 'better-sqlite3';
import { parseStreamMetadata } from './stream-metadata.js';
import { EVENT_COLUMNS, type EventRow, toRecorded } from './sqlite-schema.js';
import { isLinkStream, isMetadataStream, isSystemStream, METADATA_EVENT_TYPE, metadataStreamOf } from './system-streams.js';
import type { RecordedEvent, StreamMetadataValues } from './types.js';

export interface StreamState {
  id: number;
  name: string;
  lastRevision: number;
  tombstoned: boolean;
  /** undefined: not loaded yet; null: the stream has no metadata. */
  metadata: StreamMetadataValues | null | undefined;
}

export class StreamStates {
  private readonly cache = new Map<string, StreamState>();
  /**
   * A reading connection's system streams (`$`-prefixed, links aside: users, `$settings`, `$$`
   * metadata, ...) whose cached state is the log's, and those known not to exist, until a commit
   * reports them changed (forgetRevision). Authentication and ACLs ask for them on every call.
   */
  private readonly current = new Set<string>();
  private readonly absent = new Set<string>();
  private readonly select;
  private readonly insert;
  private readonly lastEvent;

  /**
   * `cacheRevisions` is for the one connection that writes: it alone knows every change. A
   * reading connection keeps only metadata, dropped by `forgetMetadata` when a commit touches it.
   */
  constructor(
    db: Database.Database,
    private readonly cacheSize: number,
    private readonly cacheRevisions: boolean,
  ) {
    this.select = db.prepare<[string], { id: number; last_revision: number; tombstoned: number }>(
      'SELECT id, last_revision, tombstoned FROM streams WHERE name = ?',
    );
    this.insert = db.prepare<[string], { id: number }>('INSERT INTO streams (name) VALUES (?) RETURNING id');
    this.lastEvent = db.prepare<[string, number], EventRow>(
      `SELECT ${EVENT_COLUMNS}, ? AS stream FROM events e WHERE e.stream_id = ? ORDER BY e.revision DESC LIMIT 1`,
    );
  }

  get(stream: string): StreamState | undefined {
    const cached = this.cache.get(stream);
    if (cached && (this.cacheRevisions || this.current.has(stream))) {
      this.cache.delete(stream); // LRU: move to the back
      this.cache.set(stream, cached);
      return cached;
    }
    const tracked = !this.cacheRevisions && isSystemStream(stream) && !isLinkStream(stream);
    if (tracked && this.absent.has(stream)) return undefined;
    const row = this.select.get(stream);
    if (!row) {
      if (tracked) this.rememberAbsent(stream);
      return undefined;
    }
    if (tracked) this.current.add(stream);
    if (cached) {
      cached.lastRevision = row.last_revision;
      cached.tombstoned = row.tombstoned === 1;
      return cached;
    }
    return this.remember({ id: row.id, name: stream, lastRevision: row.last_revision, tombstoned: row.tombstoned === 1, metadata: undefined });
  }

  create(stream: string): StreamState {
    const { id } = this.insert.get(stream)!;
    return this.remember({ id, name: stream, lastRevision: -1, tombstoned: false, metadata: undefined });
  }

  metadataOf(state: StreamState): StreamMetadataValues | null {
    if (state.metadata === undefined) {
      const event = isMetadataStream(state.name) ? undefined : this.lastEventOf(metadataStreamOf(state.name));
      state.metadata = event && event.type === METADATA_EVENT_TYPE ? parseStreamMetadata(event.data) : null;
    }
    return state.metadata;
  }

  lastEventOf(stream: string): RecordedEvent | undefined {
    const state = this.get(stream);
    if (!state || state.lastRevision < 0) return undefined;
    const row = this.lastEvent.get(stream, state.id);
    return row ? toRecorded(row) : undefined;
  }

  forgetMetadata(stream: string): void {
    const state = this.cache.get(stream);
    if (state) state.metadata = undefined;
  }

  /** A commit wrote or tombstoned the (system) stream: read its state again next time. */
  forgetRevision(stream: string): void {
    this.current.delete(stream);
    this.absent.delete(stream);
  }

  clear(): void {
    this.cache.clear();
    this.current.clear();
    this.absent.clear();
  }

  private remember(state: StreamState): StreamState {
    this.cache.set(state.name, state);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) {
        this.cache.delete(oldest);
        this.current.delete(oldest);
      }
    }
    return state;
  }

  private rememberAbsent(stream: string): void {
    this.absent.add(stream);
    if (this.absent.size > this.cacheSize) {
      const oldest = this.absent.values().next().value;
      if (oldest !== undefined) this.absent.delete(oldest);
    }
  }
}
