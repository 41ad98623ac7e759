// The event log of the embedded server, in one SQLite file (better-sqlite3, WAL).
//
// - `events` is $all: the rowid is the commit/prepare position, so positions only grow.
// - `streams` holds each stream's last revision and tombstone flag; stream metadata are the
//   `$metadata` events of `$$<stream>`, as in EventStoreDB.
// - `links` holds the system projections ($ce-, $et-, $bc-, $streams) as (stream, revision) ->
//   position rows written in the same transaction as the events: link events are synthesised on
//   read instead of being written into $all.
// - Appends are committed in groups: while one group is being committed and synced (on the writer
//   thread, see writer-channel.ts), every append that arrives joins the next one (one transaction,
//   one sync), so throughput grows with concurrency. A promise resolves only once its group is
//   durable. Reads run on this thread's own connection.
// Nothing grows in memory with the number of stored events: streams are cached in a bounded LRU.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { AccessDeniedError, StreamDeletedError } from './errors.js';
import type { CommitOutcome, Operation } from './log-writer.js';
import { EVENT_COLUMNS, type EventRow, openLogDatabase, type Synchronous, toRecorded } from './sqlite-schema.js';
import { type StreamState, StreamStates } from './stream-states.js';
import { isLinkStream, LINK_EVENT_TYPE } from './system-streams.js';
import { type DataDirectoryLock, lockDataFile } from './data-dir-lock.js';
import { compileAllFilter } from './all-filter.js';
import { ProjectionStorage, type ProjectionWrite, type SystemProjectionWrite } from './projection-storage.js';
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
} from './types.js';
import { inThreadWriter, threadWriter, type WriterChannel } from './writer-channel.js';

export interface SqliteEventLogOptions {
  /** Path of the SQLite file, or ':memory:'. */
  file: string;
  /** SQLite `synchronous`: FULL (default) syncs the WAL on every group commit. */
  synchronous?: Synchronous;
  /** How many streams' metadata are kept in memory. */
  streamCacheSize?: number;
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

interface Pending {
  operation: Operation;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

const EMPTY = new Uint8Array(0);

export function openSqliteEventLog(options: SqliteEventLogOptions): EventLog {
  return new SqliteEventLog(options);
}

/** What the projections service needs of the log beyond EventLog: its tables, and commits in the log's transactions. */
export interface ProjectionLogAccess {
  readonly projections: ProjectionStorage;
  commitProjection(write: ProjectionWrite | SystemProjectionWrite): Promise<AppendResult>;
}

/** The projections side of a log opened by openSqliteEventLog (not of a wrapper around it). */
export function projectionAccessOf(log: EventLog): ProjectionLogAccess {
  if (!(log instanceof SqliteEventLog)) throw new Error('projections need the log returned by openSqliteEventLog');
  return log;
}

class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly states: StreamStates;
  private readonly writer: WriterChannel;
  private readonly listeners = new Set<(head: number) => void>();
  private queue: Pending[] = [];
  private committing: Promise<void> | undefined;
  private head: number;
  private closed = false;
  private readonly statements;
  readonly projections: ProjectionStorage;
  /** The OS-level lock that keeps a second process off these files (see data-dir-lock.ts). */
  private readonly lock: DataDirectoryLock | undefined;

  constructor(options: SqliteEventLogOptions) {
    const synchronous = options.synchronous ?? 'FULL';
    this.lock = options.file === ':memory:' ? undefined : lockDataFile(options.file);
    try {
      this.db = openLogDatabase(options.file, synchronous);
    } catch (error) {
      this.lock?.release();
      throw error;
    }
    this.states = new StreamStates(this.db, options.streamCacheSize ?? 10_000, false);
    this.writer = options.file === ':memory:' ? inThreadWriter(this.db) : threadWriter({ file: options.file, synchronous });
    const db = this.db;
    this.statements = {
      forwards: db.prepare<[string, number, number, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, ? AS stream FROM events e
         WHERE e.stream_id = ? AND e.revision >= ? AND e.created_us >= ? ORDER BY e.revision LIMIT ?`,
      ),
      backwards: db.prepare<[string, number, number, number, number, number], EventRow>(
        `SELECT ${EVENT_COLUMNS}, ? AS stream FROM events e
         WHERE e.stream_id = ? AND e.revision <= ? AND e.revision >= ? AND e.created_us >= ? ORDER BY e.revision DESC LIMIT ?`,
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
    this.projections = new ProjectionStorage(db);
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

  commitProjection(write: ProjectionWrite | SystemProjectionWrite): Promise<AppendResult> {
    return this.enqueue(write);
  }

  private enqueue(operation: Operation): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('The event log is closed.'));
    return new Promise((resolve, reject) => {
      this.queue.push({ operation, resolve, reject });
      this.committing ??= this.commitQueued();
    });
  }

  /** One group in flight at a time; what arrives meanwhile waits for the next group. */
  private async commitQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      let outcome: CommitOutcome;
      try {
        outcome = await this.writer.commit(group.map((pending) => pending.operation));
      } catch (error) {
        for (const pending of group) pending.reject(error);
        continue;
      }
      // Before anyone hears of the commit: a reader never keeps a state older than a write it saw succeed.
      for (const stream of outcome.metadataChanged) this.states.forgetMetadata(stream);
      for (const stream of outcome.systemStreamsChanged) this.states.forgetRevision(stream);
      outcome.results.forEach((result, i) => {
        const pending = group[i]!;
        if (result.kind === 'stream_deleted') pending.reject(new StreamDeletedError(result.stream));
        else if (result.kind === 'access_denied') pending.reject(new AccessDeniedError(result.stream));
        else pending.resolve(result);
      });
      if (outcome.head !== this.head) {
        this.head = outcome.head;
        for (const listener of this.listeners) {
          try {
            listener(this.head);
          } catch {
            // a listener's failure is its own
          }
        }
      }
    }
    this.committing = undefined;
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
    const matches = filter ? compileAllFilter(filter) : undefined;
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.committing;
    await this.writer.close();
    this.listeners.clear();
    this.db.close();
    this.lock?.release();
  }

  private state(stream: string): StreamState | undefined {
    return this.states.get(stream);
  }

  private metadataOf(state: StreamState) {
    return this.states.metadataOf(state);
  }
}

function clampCount(count: number): number {
  if (!Number.isFinite(count) || count < 0) return Number.MAX_SAFE_INTEGER;
  return Math.floor(count);
}

/** A stable id for a synthesised link event, so reading it twice gives the same id. */
function linkEventId(stream: string, revision: number): string {
  const hex = createHash('md5').update(`${stream}\u0000${revision}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

