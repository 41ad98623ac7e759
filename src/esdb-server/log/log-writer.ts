// The write side of the event log: validates and applies a group of operations in one SQLite
// transaction. It runs on the writer thread (or in-thread for an in-memory store) and owns the
// only connection that writes, so its stream cache is always right.
import type Database from 'better-sqlite3';
import { withTruncateBefore } from './stream-metadata.js';
import { type StreamState, StreamStates } from './stream-states.js';
import { enabledLinkStreamsFor, isLinkStream, isMetadataStream, isSystemStream, METADATA_EVENT_TYPE, metadataStreamOf, systemProjectionOf } from './system-streams.js';
import { projectionWriteStatements, readSystemProjections, type ProjectionWrite, type SystemProjectionWrite } from './projection-storage.js';
import type { AppendResult, ExpectedRevision, ProposedEvent } from './types.js';
import { bytesToUuid, uuidToBytes } from './uuid-bytes.js';

export type Operation =
  | { kind: 'append'; stream: string; expected: ExpectedRevision; events: ProposedEvent[] }
  | { kind: 'delete'; stream: string; expected: ExpectedRevision }
  | { kind: 'tombstone'; stream: string; expected: ExpectedRevision }
  | ProjectionWrite
  | SystemProjectionWrite;

export type OperationResult = AppendResult | { kind: 'stream_deleted'; stream: string } | { kind: 'access_denied'; stream: string };

export interface CommitOutcome {
  results: OperationResult[];
  head: number;
  /** Streams whose metadata changed (soft deletes, `$$` appends): readers drop what they cached. */
  metadataChanged: string[];
  /** System streams (`$`-prefixed, links aside) written or tombstoned: readers drop their cached revisions. */
  systemStreamsChanged: string[];
}

/** How many of a stream's newest events an `any` append is checked against for a retry. */
const IDEMPOTENCY_WINDOW = 1_000;
const EMPTY = new Uint8Array(0);

export class LogWriter {
  private readonly states: StreamStates;
  private readonly dirty = new Set<StreamState>();
  private readonly metadataChanged = new Set<string>();
  private readonly systemStreamsChanged = new Set<string>();
  private readonly statements;
  private head: number;
  private readonly projectionStatements;
  /** The system projections that link new events (see system-streams.ts). */
  private readonly systemEnabled: Set<string>;

  constructor(
    private readonly db: Database.Database,
    cacheSize = 10_000,
  ) {
    this.states = new StreamStates(db, cacheSize, true);
    this.statements = {
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
      head: db.prepare<[], { head: number | null }>('SELECT max(position) AS head FROM events'),
    };
    this.head = this.statements.head.get()?.head ?? -1;
    this.projectionStatements = projectionWriteStatements(db);
    this.systemEnabled = new Set(readSystemProjections(db).filter((row) => row.enabled).map((row) => row.name));
  }

  /** Applies the group in one transaction. Throws (and the whole group rolls back) only on an I/O or SQLite failure. */
  commit(operations: Operation[]): CommitOutcome {
    const headBefore = this.head;
    try {
      const results = this.db.transaction(() => {
        const applied = operations.map((operation) => this.apply(operation));
        for (const state of this.dirty) this.statements.updateStream.run(state.lastRevision, state.tombstoned ? 1 : 0, state.id);
        return applied;
      })();
      return { results, head: this.head, metadataChanged: [...this.metadataChanged], systemStreamsChanged: [...this.systemStreamsChanged] };
    } catch (error) {
      // The group rolled back: forget what the cache learnt inside it.
      this.states.clear();
      this.head = headBefore;
      throw error;
    } finally {
      this.dirty.clear();
      this.metadataChanged.clear();
      this.systemStreamsChanged.clear();
    }
  }

  private apply(operation: Operation): OperationResult {
    if (operation.kind === 'projection') return this.applyProjection(operation);
    if (operation.kind === 'system_projection') return this.applySystemProjection(operation);
    if (isLinkStream(operation.stream)) return { kind: 'access_denied', stream: operation.stream };
    const state = this.states.get(operation.stream);
    if (state?.tombstoned) return { kind: 'stream_deleted', stream: operation.stream };
    const current = state?.lastRevision ?? -1;
    const softDeleted = state !== undefined && current >= 0 && (this.states.metadataOf(state)?.truncateBefore ?? -1) > current;
    const wrongExpectedVersion = (): AppendResult => ({
      kind: 'wrong_expected_version',
      currentRevision: current < 0 ? 'no_stream' : current,
      expected: operation.expected,
    });

    switch (operation.kind) {
      case 'append': {
        const { events, expected } = operation;
        if (!expectationMet(expected, current, softDeleted) || expected === 'any') {
          const replay = this.idempotentReplay(state, expected, events);
          if (replay) return replay;
          if (expected !== 'any') return wrongExpectedVersion();
        }
        if (events.length === 0) return { kind: 'success', nextRevision: current, position: -1 };
        return this.write(operation.stream, state, events);
      }
      case 'delete': {
        const metadataStream = metadataStreamOf(operation.stream);
        // As EventStoreDB (since its PR 3154): a stream that never existed (no events, no
        // metadata) cannot be soft-deleted, whatever the expected revision, `any` included.
        // A stream that has metadata only "implicitly exists" and deletes like an empty one.
        if (current < 0 && (this.states.get(metadataStream)?.lastRevision ?? -1) < 0) return wrongExpectedVersion();
        if (!expectationMet(operation.expected, current, softDeleted)) return wrongExpectedVersion();
        if (!state || current < 0) return { kind: 'success', nextRevision: current, position: this.head };
        // Soft delete, as EventStoreDB does it: truncate everything before the next revision.
        const raw = this.states.lastEventOf(metadataStream)?.data;
        const written = this.write(metadataStream, this.states.get(metadataStream), [
          {
            id: globalThis.crypto.randomUUID(),
            type: METADATA_EVENT_TYPE,
            contentType: 'application/json',
            data: withTruncateBefore(raw, current + 1),
            metadata: EMPTY,
          },
        ]);
        return { kind: 'success', nextRevision: current, position: written.kind === 'success' ? written.position : this.head };
      }
      case 'tombstone': {
        if (!expectationMet(operation.expected, current, softDeleted)) return wrongExpectedVersion();
        const target = state ?? this.states.create(operation.stream);
        target.tombstoned = true;
        this.dirty.add(target);
        this.metadataChanged.add(operation.stream);
        if (isSystemStream(operation.stream)) this.systemStreamsChanged.add(operation.stream);
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
      const found = this.statements.recentId.get(state.id, from, uuidToBytes(events[0]!.id));
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
    const state = existing ?? this.states.create(stream);
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
      for (const linkStream of enabledLinkStreamsFor(stream, revision, event.type, event.metadata, this.systemEnabled)) this.addLink(linkStream, position);
    }
    this.dirty.add(state);
    this.head = position;
    if (isSystemStream(stream)) this.systemStreamsChanged.add(stream);
    if (isMetadataStream(stream)) {
      this.states.forgetMetadata(stream.slice(2));
      this.metadataChanged.add(stream.slice(2));
    }
    return { kind: 'success', nextRevision: state.lastRevision, position };
  }

  private addLink(linkStream: string, position: number): void {
    const link = this.states.get(linkStream) ?? this.states.create(linkStream);
    link.lastRevision += 1;
    this.statements.insertLink.run(link.id, link.lastRevision, position);
    this.dirty.add(link);
  }

  /** A projection's checkpoint with the events it emitted: all of it or (refused) none of it. */
  private applyProjection(operation: ProjectionWrite): OperationResult {
    const emits = operation.emits ?? [];
    for (const { stream } of emits) {
      if (isLinkStream(stream)) return { kind: 'access_denied', stream };
      if (this.states.get(stream)?.tombstoned) return { kind: 'stream_deleted', stream };
    }
    const sql = this.projectionStatements;
    let position = -1;
    for (const { stream, event } of emits) {
      const written = this.write(stream, this.states.get(stream), [event]);
      if (written.kind === 'success') position = written.position;
      if (operation.record?.trackEmittedStreams) sql.trackStream.run(operation.name, stream);
    }
    for (const stream of operation.deleteStreams ?? []) this.apply({ kind: 'delete', stream, expected: 'any' });
    if (operation.remove) {
      sql.remove.run(operation.name);
      sql.clearStates.run(operation.name);
      sql.clearTracked.run(operation.name);
    } else {
      if (operation.clearStates) sql.clearStates.run(operation.name);
      for (const state of operation.states ?? []) sql.upsertState.run(operation.name, state.partition, state.state, state.result);
      if (operation.record) sql.upsert.run(operation.name, JSON.stringify(operation.record));
    }
    return { kind: 'success', nextRevision: -1, position };
  }

  /** Disabling stops a system projection's links; enabling links what was written meanwhile, then new events again. */
  private applySystemProjection(operation: SystemProjectionWrite): OperationResult {
    const sql = this.projectionStatements;
    const row = readSystemProjections(this.db).find((candidate) => candidate.name === operation.name)!;
    if (row.enabled === operation.enabled) return { kind: 'success', nextRevision: -1, position: this.head };
    if (!operation.enabled) {
      this.systemEnabled.delete(operation.name);
      sql.setSystem.run(operation.name, 0, this.head);
      return { kind: 'success', nextRevision: -1, position: this.head };
    }
    const only = new Set<string>([operation.name]);
    for (let after = row.stoppedAt, page = sql.eventsAfter.all(after, 10_000); page.length > 0; page = sql.eventsAfter.all(after, 10_000)) {
      for (const event of page) {
        for (const linkStream of enabledLinkStreamsFor(event.stream, event.revision, event.type, event.metadata, only)) {
          if (systemProjectionOf(linkStream) === operation.name) this.addLink(linkStream, event.position);
        }
        after = event.position;
      }
    }
    this.systemEnabled.add(operation.name);
    sql.setSystem.run(operation.name, 1, -1);
    return { kind: 'success', nextRevision: -1, position: this.head };
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
