// The storage contract of the embedded server. The gRPC services (streams, persistent
// subscriptions) see the store only through EventLog; the SQLite implementation lives in
// ./sqlite-event-log.ts. Revisions and positions are plain numbers (safe up to 2^53).

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface ProposedEvent {
  id: string; // UUID, lower-case string form
  type: string;
  contentType: string; // 'application/json' or 'application/octet-stream'
  data: Uint8Array;
  metadata: Uint8Array;
}

export interface RecordedEvent {
  stream: string;
  revision: number;
  /** Commit and prepare position in $all (the same number here); only grows. */
  position: number;
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
  /** .NET ticks (100 ns) since the Unix epoch, set by the server when the event was written. */
  created: bigint;
}

/**
 * What a read yields. For an ordinary event `event` is set and `link` is not. For a link event
 * (type `$>`, in `$ce-`, `$et-`, `$bc-`, `$streams`) read with resolveLinkTos, `event` is the
 * target and `link` the link event; without resolveLinkTos `event` is the link event itself.
 * A link whose target is gone (deleted / truncated) resolves to `event: undefined`.
 */
export interface ResolvedEvent {
  event: RecordedEvent | undefined;
  link?: RecordedEvent;
  /** Position used for $all reads and checkpoints: the original event's position. */
  position: number;
}

export type AppendResult =
  /** nextRevision is -1 when the stream still has no events; position -1 when nothing was written. */
  | { kind: 'success'; nextRevision: number; position: number }
  | { kind: 'wrong_expected_version'; currentRevision: number | 'no_stream'; expected: ExpectedRevision };

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** First revision to read ('start'/'end' as EventStoreDB). */
  from: number | 'start' | 'end';
  direction: Direction;
  maxCount: number;
  resolveLinkTos: boolean;
}

export type ReadStreamResult =
  | { kind: 'ok'; events: ResolvedEvent[]; /** last revision of the stream (for the read's end) */ lastRevision: number }
  | { kind: 'not_found' }
  | { kind: 'deleted' };

export interface AllFilter {
  /** Applied to the stream name or to the event type. */
  on: 'stream' | 'event_type';
  prefixes?: string[];
  regex?: RegExp;
}

export interface ReadAllOptions {
  /** Position of the first event to read (inclusive forwards, exclusive backwards), or start/end. */
  from: number | 'start' | 'end';
  direction: Direction;
  maxCount: number;
  resolveLinkTos: boolean;
  filter?: AllFilter;
  /** Stop after looking at this many events even when fewer matched (for checkpoints). */
  maxSearchWindow?: number;
}

export interface ReadAllResult {
  events: ResolvedEvent[];
  /** Position of the last event looked at (matched or not); undefined when nothing was looked at. */
  lastScannedPosition: number | undefined;
  /** True when the read reached the end (forwards: head of the log; backwards: its beginning). */
  endOfLog: boolean;
}

export interface StreamMetadataValues {
  maxCount?: number;
  maxAge?: number; // seconds
  truncateBefore?: number;
  cacheControl?: number;
  acl?: unknown;
  custom?: Record<string, unknown>;
}

export interface EventLog {
  /** Atomic append; resolves once durable. Throws StreamDeletedError on a tombstoned stream. */
  append(stream: string, expected: ExpectedRevision, events: ProposedEvent[]): Promise<AppendResult>;
  readStream(stream: string, options: ReadStreamOptions): ReadStreamResult;
  readAll(options: ReadAllOptions): ReadAllResult;
  /** Soft delete: the stream reads as not found; a later append continues its revisions. */
  deleteStream(stream: string, expected: ExpectedRevision): Promise<AppendResult>;
  /** Hard delete: the stream can never be read or written again. */
  tombstoneStream(stream: string, expected: ExpectedRevision): Promise<AppendResult>;
  /** Last revision of a stream, or undefined when it has none (never written or deleted). */
  streamRevision(stream: string): number | undefined;
  /** Position of the newest event in $all, or -1 when empty. */
  headPosition(): number;
  /** Called after every durable commit with the new head position. Returns an unsubscribe. */
  onCommit(listener: (headPosition: number) => void): () => void;
  /** Waits for the group being committed, then releases the files. */
  close(): Promise<void>;
}
