// The event log of the embedded server, in one SQLite file (better-sqlite3, WAL).
//
// - `events` is $all: the rowid is the commit/prepare position, so positions only grow.
// - `streams` holds each stream's last revision and tombstone flag; stream metadata are the
//   `$metadata` events of `$$<stream>`, as in EventStoreDB.
// - `links` holds the system projections ($ce-, $et-, $bc-, $streams) as (stream, revision) ->
//   position rows written in the same transaction as the events: link events are synthesised on
//   read instead of being written into $all.
// - Appends are queued and committed in groups: every append that arrives while a transaction is
//   being written goes into the next one (one transaction, one sync), so throughput grows with
//   concurrency. A promise resolves only after its transaction is durable.
// Nothing grows in memory with the number of stored events: streams are cached in a bounded LRU.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { AccessDeniedError, StreamDeletedError } from './errors.js';
import { parseStreamMetadata, withTruncateBefore } from './stream-metadata.js';
import {
  isLinkStream,
  isMetadataStream,
  LINK_EVENT_TYPE,
  linkStreamsFor,
  METADATA_EVENT_TYPE,
  metadataStreamOf,
} from './system-streams.js';
import type {
  AppendResult,
  EventLog,
  ExpectedRevision,
  ProposedEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  ResolvedEvent,
  StreamMetadataValues,
} from './types.js';
import { bytesToUuid, uuidToBytes } from './uuid-bytes.js';

export interface SqliteEventLogOptions {
  /** Path of the SQLite file, or ':memory:'. */
  file: string;
  /** SQLite `synchronous`: FULL (default) syncs the WAL on every group commit. */
  synchronous?: 'FULL' | 'NORMAL';
  /** How many streams' states are kept in memory. */
  streamCacheSize?: number;
}

interface StreamState {
  id: number;
  name: string;
  lastRevision: number;
  tombstoned: boolean;
  /** undefined: not loaded yet; null: the stream has no metadata. */
  metadata: StreamMetadataValues | null | undefined;
}

interface EventRow {
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

interface LinkRow {
  link_revision: number;
  target: number;
  position: number | null;
  revision: number | null;
  event_id: Buffer | null;
  type: string | null;
  content_type: string | null;
  created_us: number | null;
  data: Buffer | null;
  metadata: Buffer | null;
  stream: string | null;
}

type Operation =
  | { kind: 'append'; stream: string; expected: ExpectedRevision; events: ProposedEvent[] }
  | { kind: 'delete'; stream: string; expected: ExpectedRevision }
  | { kind: 'tombstone'; stream: string; expected: ExpectedRevision };

interface Pending {
  operation: Operation;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
  result?: AppendResult;
  error?: unknown;
}

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

const EVENT_COLUMNS = 'e.position, e.revision, e.event_id, e.type, e.content_type, e.created_us, e.data, e.metadata';
const EMPTY = new Uint8Array(0);
/** How many of a stream's newest events an `any` append is checked against for a retry. */
const IDEMPOTENCY_WINDOW = 1_000;

export function openSqliteEventLog(options: SqliteEventLogOptions): EventLog {
  return new SqliteEventLog(options);
}

class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly cache = new Map<string, StreamState>();
  private readonly cacheSize: number;
  private readonly listeners = new Set<(head: number) => void>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private head: number;
  private closed = false;
  private readonly dirty = new Set<StreamState>();
  private readonly statements;

  constructor(options: SqliteEventLogOptions) {
    this.db = new Database(options.file);
    this.cacheSize = options.streamCacheSize ?? 10_000;
    if (options.file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.pragma('cache_size = -32000'); // 32 MB page cache, whatever the store's size
    this.db.exec(SCHEMA);
    const db = this.db;
    this.statements = {
      stream: db.prepare<[string], { id: number; last_revision: number; tombstoned: number }>(
        'SELECT id, last_revision, tombstoned FROM streams WHERE name = ?',
      ),
      insertStream: db.prepare<[string], { id: number }>('INSERT INTO streams (name) VALUES (?) RETURNING id'),
      updateStream: db.prepare<[number, number, number]>('UPDATE streams SET last_revision = ?, tombstoned = ? WHERE id = ?'),
      insertEvent: db.prepare<[number, number, Buffer, string, string, number, Uint8Array, Uint8Array]>(
        'INSERT INTO events (stream_id, revision, event_id, type, content_type, created_us, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertLink: db.prepare<[number, number, number]>('INSERT INTO links (stream_id, revision, target) VALUES (?, ?, ?)'),
      idsFrom: db.prepare<[number, number, number], { revision: number; event_id: Buffer; position: number }>(
        'SELECT revision, event_id, position FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      recentId: db.prepare<[number, number, Buffer], { revision: number }>(
        'SELECT revision FROM events WHERE stream_id = ? AND revision >= ? AND event_id = ? ORDER BY revision LIMIT 1',
      ),
      forwards: db.prepare<[string, number, number, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, ? AS stream FROM events e
         WHERE e.stream_id = ? AND e.revision >= ? AND e.created_us >= ? ORDER BY e.revision LIMIT ?`,
      ),
      backwards: db.prepare<[string, number, number, number, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, ? AS stream FROM events e
         WHERE e.stream_id = ? AND e.revision <= ? AND e.revision >= ? AND e.created_us >= ? ORDER BY e.revision DESC LIMIT ?`,
      ),
      lastEvent: db.prepare<[string, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, ? AS stream FROM events e WHERE e.stream_id = ? ORDER BY e.revision DESC LIMIT 1`,
      ),
      linksForwards: db.prepare<[number, number, number], LinkRow>(
        `SELECT l.revision AS link_revision, l.target, ${EVENT_COLUMNS}, s.name AS stream FROM links l
         LEFT JOIN events e ON e.position = l.target LEFT JOIN streams s ON s.id = e.stream_id
         WHERE l.stream_id = ? AND l.revision >= ? ORDER BY l.revision LIMIT ?`,
      ),
      linksBackwards: db.prepare<[number, number, number], LinkRow>(
        `SELECT l.revision AS link_revision, l.target, ${EVENT_COLUMNS}, s.name AS stream FROM links l
         LEFT JOIN events e ON e.position = l.target LEFT JOIN streams s ON s.id = e.stream_id
         WHERE l.stream_id = ? AND l.revision <= ? ORDER BY l.revision DESC LIMIT ?`,
      ),
      allForwards: db.prepare<[number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, s.name AS stream FROM events e JOIN streams s ON s.id = e.stream_id
         WHERE e.position >= ? ORDER BY e.position LIMIT ?`,
      ),
      allBackwards: db.prepare<[number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, s.name AS stream FROM events e JOIN streams s ON s.id = e.stream_id
         WHERE e.position < ? ORDER BY e.position DESC LIMIT ?`,
      ),
      head: db.prepare<[], { head: number | null }>('SELECT max(position) AS head FROM events'),
    };
    this.head = this.statements.head.get()?.head ?? -1;
  }

  // ---- writes ------------------------------------------------------------------------------

  append(stream: string, expected: ExpectedRevision, events: ProposedEvent[]): Promise<AppendResult> {
    return this.enqueue({ kind: 'append', stream, expected, events });
  }

  deleteStream(stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    return this.enqueue({ kind: 'delete', stream, expected });
  }

  tombstoneStream(stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    return this.enqueue({ kind: 'tombstone', stream, expected });
  }

  private enqueue(operation: Operation): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('The event log is closed.'));
    return new Promise((resolve, reject) => {
      this.queue.push({ operation, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0 || this.closed) {
      for (const pending of batch) pending.reject(new Error('The event log is closed.'));
      return;
    }
    const headBefore = this.head;
    try {
      this.db.transaction(() => {
        for (const pending of batch) {
          try {
            pending.result = this.apply(pending.operation);
          } catch (error) {
            if (!(error instanceof StreamDeletedError || error instanceof AccessDeniedError)) throw error;
            pending.error = error;
          }
        }
        for (const state of this.dirty) this.statements.updateStream.run(state.lastRevision, state.tombstoned ? 1 : 0, state.id);
      })();
    } catch (error) {
      // The whole group rolled back: forget what the cache learnt inside it.
      this.cache.clear();
      this.dirty.clear();
      this.head = headBefore;
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.dirty.clear();
    for (const pending of batch) {
      if (pending.error !== undefined) pending.reject(pending.error);
      else pending.resolve(pending.result!);
    }
    if (this.head !== headBefore) {
      for (const listener of this.listeners) {
        try {
          listener(this.head);
        } catch {
          // a listener's failure is its own
        }
      }
    }
  }

  private apply(operation: Operation): AppendResult {
    if (isLinkStream(operation.stream)) throw new AccessDeniedError(operation.stream);
    const state = this.state(operation.stream);
    if (state?.tombstoned) throw new StreamDeletedError(operation.stream);
    const current = state?.lastRevision ?? -1;
    const softDeleted = state !== undefined && current >= 0 && (this.metadataOf(state)?.truncateBefore ?? -1) > current;

    switch (operation.kind) {
      case 'append': {
        const { events, expected } = operation;
        const allowed = expectationMet(expected, current, softDeleted);
        if (!allowed) {
          const replay = this.idempotentReplay(state, expected, events);
          if (replay) return replay;
          return { kind: 'wrong_expected_version', currentRevision: current < 0 ? 'no_stream' : current, expected };
        }
        if (expected === 'any') {
          const replay = this.idempotentReplay(state, expected, events);
          if (replay) return replay;
        }
        if (events.length === 0) return { kind: 'success', nextRevision: current, position: -1 };
        return this.write(operation.stream, state, events);
      }
      case 'delete': {
        if (!expectationMet(operation.expected, current, softDeleted)) {
          return { kind: 'wrong_expected_version', currentRevision: current < 0 ? 'no_stream' : current, expected: operation.expected };
        }
        if (!state || current < 0) return { kind: 'success', nextRevision: current, position: this.head };
        const metadataStream = metadataStreamOf(operation.stream);
        const raw = this.lastEventOf(metadataStream)?.data;
        const written = this.write(metadataStream, this.state(metadataStream), [
          {
            id: randomUuid(),
            type: METADATA_EVENT_TYPE,
            contentType: 'application/json',
            data: withTruncateBefore(raw, current + 1),
            metadata: EMPTY,
          },
        ]);
        return { kind: 'success', nextRevision: current, position: written.kind === 'success' ? written.position : this.head };
      }
      case 'tombstone': {
        if (!expectationMet(operation.expected, current, softDeleted)) {
          return { kind: 'wrong_expected_version', currentRevision: current < 0 ? 'no_stream' : current, expected: operation.expected };
        }
        const target = state ?? this.createStream(operation.stream);
        target.tombstoned = true;
        this.dirty.add(target);
        return { kind: 'success', nextRevision: current, position: this.head };
      }
    }
  }

  /** The same event ids appended again after the same expected revision: success, no write. */
  private idempotentReplay(state: StreamState | undefined, expected: ExpectedRevision, events: ProposedEvent[]): AppendResult | undefined {
    if (!state || events.length === 0 || expected === 'stream_exists') return undefined;
    let first: number;
    if (expected === 'any') {
      // Like EventStoreDB, `any` retries are recognised within a bounded window: the stream's
      // newest events. A random-id index over all events would cost more than it gives.
      const from = Math.max(0, state.lastRevision - events.length - IDEMPOTENCY_WINDOW + 1);
      const firstId = uuidToBytes(events[0]!.id);
      const found = this.statements.recentId.get(state.id, from, firstId);
      if (!found) return undefined;
      first = found.revision;
    } else {
      first = expected === 'no_stream' ? 0 : expected + 1;
    }
    const rows = this.statements.idsFrom.all(state.id, first, events.length);
    if (rows.length !== events.length) return undefined;
    for (let i = 0; i < rows.length; i++) {
      if (bytesToUuid(rows[i]!.event_id) !== events[i]!.id.toLowerCase()) return undefined;
    }
    const last = rows[rows.length - 1]!;
    return { kind: 'success', nextRevision: last.revision, position: last.position };
  }

  private write(stream: string, existing: StreamState | undefined, events: ProposedEvent[]): AppendResult {
    const state = existing ?? this.createStream(stream);
    const createdUs = Date.now() * 1000;
    let position = -1;
    for (const event of events) {
      const revision = state.lastRevision + 1;
      const info = this.statements.insertEvent.run(
        state.id,
        revision,
        uuidToBytes(event.id),
        event.type,
        event.contentType,
        createdUs,
        event.data,
        event.metadata,
      );
      position = Number(info.lastInsertRowid);
      state.lastRevision = revision;
      for (const linkStream of linkStreamsFor(stream, revision, event.type, event.metadata)) {
        const link = this.state(linkStream) ?? this.createStream(linkStream);
        link.lastRevision += 1;
        this.statements.insertLink.run(link.id, link.lastRevision, position);
        this.dirty.add(link);
      }
    }
    this.dirty.add(state);
    this.head = position;
    if (isMetadataStream(stream)) {
      const target = this.cache.get(stream.slice(2));
      if (target) target.metadata = undefined;
    }
    return { kind: 'success', nextRevision: state.lastRevision, position };
  }

  // ---- reads -------------------------------------------------------------------------------

  readStream(stream: string, options: ReadStreamOptions): ReadStreamResult {
    const state = this.state(stream);
    if (!state) return { kind: 'not_found' };
    if (state.tombstoned) return { kind: 'deleted' };
    const last = state.lastRevision;
    if (last < 0) return { kind: 'not_found' };
    if (isLinkStream(stream)) return this.readLinks(state, options);

    const metadata = this.metadataOf(state);
    const truncateBefore = metadata?.truncateBefore ?? 0;
    if (truncateBefore > last) return { kind: 'not_found' };
    const lowest = Math.max(truncateBefore, metadata?.maxCount !== undefined ? last - metadata.maxCount + 1 : 0);
    const createdAfter = metadata?.maxAge !== undefined ? Date.now() * 1000 - metadata.maxAge * 1_000_000 : 0;
    const limit = clampCount(options.maxCount);
    let rows: EventRow[];
    if (options.direction === 'forwards') {
      const from = options.from === 'start' ? 0 : options.from === 'end' ? last + 1 : options.from;
      rows = this.statements.forwards.all(stream, state.id, Math.max(from, lowest), createdAfter, limit);
    } else {
      const from = options.from === 'start' ? 0 : options.from === 'end' ? last : options.from;
      rows = this.statements.backwards.all(stream, state.id, from, lowest, createdAfter, limit);
    }
    const events = rows.map((row): ResolvedEvent => {
      const event = toRecorded(row);
      return options.resolveLinkTos && event.type === LINK_EVENT_TYPE ? this.resolveWrittenLink(event) : { event, position: row.position };
    });
    return { kind: 'ok', events, lastRevision: last };
  }

  /** A `$>` event written into an ordinary stream (e.g. a parked message): data `<revision>@<stream>`. */
  private resolveWrittenLink(link: RecordedEvent): ResolvedEvent {
    const text = Buffer.from(link.data).toString('utf8');
    const at = text.indexOf('@');
    const revision = Number(text.slice(0, at));
    const state = at > 0 && Number.isSafeInteger(revision) ? this.state(text.slice(at + 1)) : undefined;
    const row = state && !state.tombstoned ? this.statements.forwards.get(state.name, state.id, revision, 0, 1) : undefined;
    const target = row && row.revision === revision ? toRecorded(row) : undefined;
    return { event: target && this.isVisible(target) ? target : undefined, link, position: link.position };
  }

  private readLinks(state: StreamState, options: ReadStreamOptions): ReadStreamResult {
    const last = state.lastRevision;
    const limit = clampCount(options.maxCount);
    const rows =
      options.direction === 'forwards'
        ? this.statements.linksForwards.all(state.id, options.from === 'start' ? 0 : options.from === 'end' ? last + 1 : options.from, limit)
        : this.statements.linksBackwards.all(state.id, options.from === 'start' ? 0 : options.from === 'end' ? last : options.from, limit);
    const events = rows.map((row): ResolvedEvent => {
      const target = row.position === null ? undefined : toRecorded(row as EventRow);
      const link: RecordedEvent = {
        stream: state.name,
        revision: row.link_revision,
        position: row.target,
        id: linkEventId(state.name, row.link_revision),
        type: LINK_EVENT_TYPE,
        contentType: 'application/octet-stream',
        data: Buffer.from(target ? `${target.revision}@${target.stream}` : `@`, 'utf8'),
        metadata: EMPTY,
        created: target?.created ?? 0n,
      };
      if (!options.resolveLinkTos) return { event: link, position: row.target };
      return { event: target && this.isVisible(target) ? target : undefined, link, position: row.target };
    });
    return { kind: 'ok', events, lastRevision: last };
  }

  /** Whether a link's target can still be read from its own stream (not deleted or truncated). */
  private isVisible(event: RecordedEvent): boolean {
    const state = this.state(event.stream);
    if (!state || state.tombstoned) return false;
    const metadata = this.metadataOf(state);
    if (!metadata) return true;
    if (event.revision < (metadata.truncateBefore ?? 0)) return false;
    if (metadata.maxCount !== undefined && event.revision <= state.lastRevision - metadata.maxCount) return false;
    if (metadata.maxAge !== undefined && event.created < BigInt(Date.now() - metadata.maxAge * 1000) * 10_000n) return false;
    return true;
  }

  readAll(options: ReadAllOptions): ReadAllResult {
    const limit = clampCount(options.maxCount);
    const window = options.maxSearchWindow ?? Number.MAX_SAFE_INTEGER;
    const filter = options.filter;
    const matches = filter ? compileFilter(filter) : undefined;
    const forwards = options.direction === 'forwards';
    if (!forwards && options.from === 'start') return { events: [], lastScannedPosition: undefined, endOfLog: true };
    let cursor = options.from === 'start' ? 0 : options.from === 'end' ? this.head + 1 : options.from;
    const events: ResolvedEvent[] = [];
    let scanned = 0;
    let lastScannedPosition: number | undefined;
    let endOfLog = false;
    while (events.length < limit && scanned < window) {
      const page = Math.min(matches ? 1_000 : limit - events.length, window - scanned);
      const rows = forwards ? this.statements.allForwards.all(cursor, page) : this.statements.allBackwards.all(cursor, page);
      let consumed = 0;
      for (const row of rows) {
        consumed++;
        scanned++;
        lastScannedPosition = row.position;
        if (!matches || matches(row.stream, row.type)) {
          events.push({ event: toRecorded(row), position: row.position });
          if (events.length >= limit) break;
        }
      }
      if (rows.length < page && consumed === rows.length) {
        endOfLog = true;
        break;
      }
      cursor = forwards ? lastScannedPosition! + 1 : lastScannedPosition!;
    }
    return { events, lastScannedPosition, endOfLog };
  }

  // ---- state -------------------------------------------------------------------------------

  streamRevision(stream: string): number | undefined {
    const state = this.state(stream);
    if (!state || state.tombstoned || state.lastRevision < 0) return undefined;
    return state.lastRevision;
  }

  headPosition(): number {
    return this.head;
  }

  onCommit(listener: (headPosition: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }

  private state(stream: string): StreamState | undefined {
    const cached = this.cache.get(stream);
    if (cached) {
      // LRU: move to the back
      this.cache.delete(stream);
      this.cache.set(stream, cached);
      return cached;
    }
    const row = this.statements.stream.get(stream);
    if (!row) return undefined;
    return this.remember({ id: row.id, name: stream, lastRevision: row.last_revision, tombstoned: row.tombstoned === 1, metadata: undefined });
  }

  private createStream(stream: string): StreamState {
    const { id } = this.statements.insertStream.get(stream)!;
    const state: StreamState = { id, name: stream, lastRevision: -1, tombstoned: false, metadata: undefined };
    this.dirty.add(state);
    return this.remember(state);
  }

  private remember(state: StreamState): StreamState {
    this.cache.set(state.name, state);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return state;
  }

  private metadataOf(state: StreamState): StreamMetadataValues | null {
    if (state.metadata === undefined) {
      const event = isMetadataStream(state.name) ? undefined : this.lastEventOf(metadataStreamOf(state.name));
      state.metadata = event && event.type === METADATA_EVENT_TYPE ? parseStreamMetadata(event.data) : null;
    }
    return state.metadata;
  }

  private lastEventOf(stream: string): RecordedEvent | undefined {
    const state = this.state(stream);
    if (!state || state.lastRevision < 0) return undefined;
    const row = this.statements.lastEvent.get(stream, state.id);
    return row ? toRecorded(row) : undefined;
  }
}

function expectationMet(expected: ExpectedRevision, current: number, softDeleted: boolean): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current < 0 || softDeleted;
    case 'stream_exists':
      return current >= 0 && !softDeleted;
    default:
      return expected === current;
  }
}

function toRecorded(row: EventRow): RecordedEvent {
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

function clampCount(count: number): number {
  if (!Number.isFinite(count) || count < 0) return Number.MAX_SAFE_INTEGER;
  return Math.floor(count);
}

function compileFilter(filter: NonNullable<ReadAllOptions['filter']>): (stream: string, type: string) => boolean {
  const { prefixes, regex } = filter;
  return (stream, type) => {
    const subject = filter.on === 'stream' ? stream : type;
    if (prefixes && prefixes.length > 0 && !prefixes.some((prefix) => subject.startsWith(prefix))) return false;
    if (regex && !regex.test(subject)) return false;
    return true;
  };
}

/** A stable id for a synthesised link event, so reading it twice gives the same id. */
function linkEventId(stream: string, revision: number): string {
  const hex = createHash('md5').update(`${stream}\u0000${revision}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}
