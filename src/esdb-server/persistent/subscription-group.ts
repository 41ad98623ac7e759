// One running persistent subscription group: reads its source in batches into bounded buffers,
// hands messages to connected consumers by the group's strategy, tracks what is in flight,
// retries on nack / timeout / consumer loss, parks after maxRetryCount, and checkpoints the
// highest position below which everything is done, as EventStoreDB does.
import { randomUUID } from 'node:crypto';
import type { AllFilter, EventLog, ResolvedEvent } from '../log/types.js';
import { readCheckpoint } from './checkpoint-store.js';
import { Checkpointer, type CheckpointCandidate } from './checkpointer.js';
import { connectionStats, createConsumer, type ConnectionStats, type Consumer, type ConsumerHandle, type ConsumerSink, type DropReason, type NackAction } from './consumer.js';
import { createConsumerStrategy, type ConsumerStrategy } from './consumer-strategy.js';
import { checkpointStreamOf, parkedStreamOf, type GroupDefinition } from './definition.js';
import { MessageQueue, messageBytes, type Message } from './message-queue.js';
import { DeliveryLog } from './delivery-log.js';
import { type FailingWrite, PendingWrites } from './pending-writes.js';
import { markReplayed, parkedMessageCount, parkedTruncateBefore, parkMessage, readParked } from './parked-messages.js';
import type { SharedTail } from './shared-tail.js';

export type { ConsumerHandle, ConsumerSink, DropReason, NackAction };

export interface GroupStats {
  status: string;
  connections: ConnectionStats[];
  averagePerSecond: number;
  totalItems: number;
  countSinceLastMeasurement: number;
  lastCheckpointedKey: number | undefined;
  lastKnownKey: number | undefined;
  readBufferCount: number;
  liveBufferCount: number;
  retryBufferCount: number;
  totalInFlightMessages: number;
  outstandingMessagesCount: number;
  parkedMessageCount: number;
  /** A checkpoint, park or replay mark the group keeps failing to write (being retried), if any. */
  failingWrite: FailingWrite | undefined;
}

interface InFlight {
  message: Message;
  consumer: Consumer;
  sentAt: number;
  deadline: number;
}

const EVERY_EVENT: AllFilter = { on: 'stream', prefixes: [''] };

/** Non-matching events of $all looked at per read before giving the event loop back. */
const SEARCH_WINDOW = 4096;

/**
 * Bytes of event data a group reads ahead at most (its buffer of messages not yet sent), on top
 * of historyBufferSize / liveBufferSize, which count events as EventStoreDB's do. Counted in
 * events alone, a group behind on ~56 KB orders buffered 5,000 of them (280 MB), and each group
 * read its own copies once they fell out of the shared tail: 356 MB of event data in the store's
 * thread after a burst of large creates (issue #11). Reads are made smaller to fit, by the size
 * of the events the group read last; one event is always read into an empty buffer.
 */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** The events of a first read, before the group has seen how large its events are. */
const FIRST_READ_EVENTS = 16;

export class SubscriptionGroup {
  readonly checkpointStream: string;
  readonly parkedStream: string;
  private readonly strategy: ConsumerStrategy<Consumer>;
  private consumers: Consumer[] = [];
  private nextConsumerId = 1;
  private readonly buffer = new MessageQueue();
  private readonly retries = new MessageQueue();
  private readonly inFlight = new Map<string, InFlight>();
  /** Read but not done (buffered, in flight, waiting for retry or being parked), by read order. */
  private readonly unfinished = new Map<number, Message>();
  private nextSeq = 0;
  /** Next revision / position to read from the source. */
  private cursor = 0;
  /** Highest source key read (or, for a filtered $all, looked at). */
  private lastReadKey: number | undefined;
  private lastEventKey: number | undefined;
  private live = false;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  private pumpScheduled = false;
  private lastSeenHead = -1;
  /** Average size of the events of the group's last read (messageBytes), for the read-ahead bound. */
  private eventBytes = READ_AHEAD_BYTES / FIRST_READ_EVENTS;
  private readonly unsubscribeCommits: () => void;
  private readonly timer: NodeJS.Timeout;

  private readonly writes = new PendingWrites();
  private readonly checkpointer: Checkpointer;

  private replay: { next: number; stopAt: number } | undefined;
  /** When each recent event went out and its answer came back (for the UI's trace page). */
  readonly deliveries = new DeliveryLog();
  private totalItems = 0;
  private measured = { at: Date.now(), items: 0 };
  /** The filter of a group on $all, as the log takes it. */
  private readonly allFilter: AllFilter;

  constructor(
    readonly definition: GroupDefinition,
    private readonly log: EventLog,
    /** The newest events of $all, shared by the groups on $all (shared-tail.ts). */
    private readonly tail?: SharedTail,
  ) {
    const filter = definition.source.kind === 'all' ? definition.source.filter : undefined;
    // Without a filter of its own a group on $all still gets EventStoreDB's default one (see
    // hiddenFromFilteredAll in sqlite-event-log.ts): the empty prefix matches everything else.
    this.allFilter = filter ? { on: filter.on, prefixes: filter.prefixes, regex: filter.regex === undefined ? undefined : new RegExp(filter.regex) } : EVERY_EVENT;
    this.checkpointStream = checkpointStreamOf(definition.source, definition.group);
    this.parkedStream = parkedStreamOf(definition.source, definition.group);
    this.strategy = createConsumerStrategy<Consumer>(definition.settings.consumerStrategy);
    this.checkpointer = new Checkpointer(log, this.checkpointStream, definition.source, definition.settings, this.writes);
    this.startFromCheckpoint();
    this.unsubscribeCommits = log.onCommit((head) => {
      if (head > this.lastSeenHead) {
        this.lastSeenHead = head;
        this.schedulePump();
      }
    });
    this.timer = setInterval(() => this.tick(), tickInterval(definition));
    this.timer.unref();
    this.pump();
  }

  subscribe(sink: ConsumerSink, bufferSize: number, connectionName: string, from: string): ConsumerHandle | 'max_subscribers_reached' | 'stopped' {
    // A group being updated or deleted takes nobody new.
    if (this.stopped) return 'stopped';
    const max = this.definition.settings.maxSubscriberCount;
    // As EventStoreDB: 0 is unbounded, any other value a limit.
    if (max !== 0 && this.consumers.length >= max) return 'max_subscribers_reached';
    const consumer = createConsumer(this.nextConsumerId++, sink, bufferSize, connectionName, from, this.definition.settings.extraStatistics);
    this.consumers.push(consumer);
    // Not at once: the caller confirms the subscription before the first message goes out.
    this.schedulePump();
    return {
      ack: (ids) => this.ack(consumer, ids),
      nack: (ids, action, reason) => this.nack(ids, action, reason),
      leave: () => this.remove(consumer),
    };
  }

  /** Stops the group: drops its consumers and timers; writes a last checkpoint when asked. */
  async stop(reason: DropReason, options: { checkpoint: boolean }): Promise<void> {
    if (this.stopped) return;
    if (options.checkpoint) this.maybeCheckpoint(true, true);
    this.stopped = true;
    this.writes.close();
    clearInterval(this.timer);
    this.unsubscribeCommits();
    const consumers = this.consumers;
    this.consumers = [];
    for (const consumer of consumers) consumer.sink.drop(reason);
    this.inFlight.clear();
    this.buffer.clear();
    this.retries.clear();
    await this.writes.settled();
  }

  replayParked(stopAt: number | undefined): void {
    if (this.stopped || this.replay) return;
    const last = this.log.streamRevision(this.parkedStream);
    if (last === undefined) return;
    const from = parkedTruncateBefore(this.log, this.parkedStream);
    const end = Math.min(stopAt ?? Number.MAX_SAFE_INTEGER, last + 1);
    if (end <= from) return;
    this.replay = { next: from, stopAt: end };
    this.pump();
  }

  /**
   * The group's figures. As on EventStoreDB, a GetInfo/List call starts a new measurement window
   * for the rate; a look that only watches (the store's UI, /metrics) passes `measure: false`.
   */
  stats({ measure = true }: { measure?: boolean } = {}): GroupStats {
    const now = Date.now();
    const connections = this.consumers.map((consumer) => connectionStats(consumer, now));
    const since = this.totalItems - this.measured.items;
    const seconds = (now - this.measured.at) / 1000;
    if (measure) this.measured = { at: now, items: this.totalItems };
    return {
      status: this.replay ? 'ReplayingParkedMessages' : this.live ? 'Live' : 'Behind',
      connections,
      averagePerSecond: seconds > 0 ? since / seconds : 0,
      totalItems: this.totalItems,
      countSinceLastMeasurement: since,
      lastCheckpointedKey: this.checkpointer.lastCheckpoint,
      lastKnownKey: this.lastEventKey,
      // As EventStoreDB's ReadBufferCount: every buffered event not yet sent, live or not.
      readBufferCount: this.buffer.size,
      liveBufferCount: this.live ? this.buffer.size : 0,
      retryBufferCount: this.retries.size,
      totalInFlightMessages: this.inFlight.size,
      outstandingMessagesCount: this.inFlight.size,
      parkedMessageCount: parkedMessageCount(this.log, this.parkedStream),
      failingWrite: this.writes.failing,
    };
  }

  // ---- starting point ------------------------------------------------------------------------

  private startFromCheckpoint(): void {
    const { source, startFrom } = this.definition;
    const checkpoint = readCheckpoint(this.log, this.checkpointStream);
    if (checkpoint !== undefined) {
      this.cursor = checkpoint + 1;
      this.lastReadKey = checkpoint;
      this.checkpointer.loaded(checkpoint);
      this.nextSeq = 1;
      return;
    }
    switch (startFrom.kind) {
      case 'start':
        this.cursor = 0;
        return;
      case 'at':
        this.cursor = startFrom.value;
        this.lastReadKey = startFrom.value > 0 ? startFrom.value - 1 : undefined;
        return;
      case 'end': {
        const last = source.kind === 'all' ? this.log.headPosition() : (this.log.streamRevision(source.stream) ?? -1);
        this.cursor = last + 1;
        if (last >= 0) {
          // Resolved once and remembered: a restart before the first checkpoint must not skip
          // the events that arrived since (EventStoreDB would resolve `end` again).
          this.lastReadKey = last;
          this.checkpointer.writeNow(last, -1);
        }
        return;
      }
    }
  }

  // ---- reading and dispatching -----------------------------------------------------------

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      for (let round = 0; round < 64; round++) {
        this.pumpAgain = false;
        this.readReplayBatch();
        const read = this.fillBuffer();
        const sent = this.dispatch();
        if (!this.pumpAgain && sent === 0 && read === 0) break;
      }
    } finally {
      this.pumping = false;
    }
    if (this.pumpAgain) this.schedulePump();
  }

  private fillBuffer(): number {
    const settings = this.definition.settings;
    const sizes = effectiveSizes(settings);
    const capacity = (this.live ? sizes.live : sizes.history) - this.buffer.size;
    const room = READ_AHEAD_BYTES - this.buffer.bytes;
    const fits = Math.max(1, Math.floor(room / this.eventBytes));
    if (capacity <= 0 || room <= 0 || (!this.live && capacity < sizes.readBatch && capacity < fits)) return 0;
    const count = Math.min(sizes.readBatch, capacity, fits);
    const bytesBefore = this.buffer.bytes;
    const source = this.definition.source;
    let events: ResolvedEvent[];
    if (source.kind === 'stream') {
      const last = this.log.streamRevision(source.stream);
      if (last === undefined || last < this.cursor) {
        this.live = true;
        return 0;
      }
      const result = this.log.readStream(source.stream, { from: this.cursor, direction: 'forwards', maxCount: count, resolveLinkTos: settings.resolveLinkTos });
      if (result.kind !== 'ok') {
        this.live = true;
        return 0;
      }
      events = result.events;
      for (const event of events) this.accept(event, (event.link ?? event.event)!.revision);
      if (events.length > 0) this.cursor = this.lastReadKey! + 1;
      this.live = events.length < count || this.cursor > result.lastRevision;
    } else {
      if (this.log.headPosition() < this.cursor) {
        this.live = true;
        return 0;
      }
      const result =
        this.tail?.readForwards(this.cursor, count, this.allFilter, SEARCH_WINDOW) ??
        this.log.readAll({ from: this.cursor, direction: 'forwards', maxCount: count, resolveLinkTos: settings.resolveLinkTos, filter: this.allFilter, maxSearchWindow: SEARCH_WINDOW });
      events = result.events;
      for (const event of events) this.accept(event, event.position);
      if (result.lastScannedPosition !== undefined) {
        this.cursor = result.lastScannedPosition + 1;
        this.lastReadKey = Math.max(this.lastReadKey ?? -1, result.lastScannedPosition);
      }
      this.live = result.endOfLog;
      // Nothing matched in a full search window: go on later without blocking the loop.
      if (events.length === 0 && !result.endOfLog && result.lastScannedPosition !== undefined) this.schedulePump();
    }
    if (events.length > 0) this.eventBytes = Math.max(1, (this.buffer.bytes - bytesBefore) / events.length);
    return events.length;
  }

  private accept(event: ResolvedEvent, key: number): void {
    const id = (event.link ?? event.event)!.id;
    const message: Message = { event, id, retryCount: 0, seq: this.nextSeq++, key, prevKey: this.lastReadKey };
    this.lastReadKey = key;
    this.lastEventKey = key;
    this.unfinished.set(message.seq!, message);
    this.buffer.push(message);
  }

  private readReplayBatch(): void {
    const replay = this.replay;
    const readBatch = effectiveSizes(this.definition.settings).readBatch;
    if (!replay || this.retries.size >= readBatch) return;
    const batch = readParked(this.log, this.parkedStream, replay.next, replay.stopAt, readBatch);
    for (const event of batch.events) {
      this.retries.push({ event, id: event.link!.id, retryCount: 0, seq: undefined, key: event.position, prevKey: undefined });
    }
    replay.next = batch.next;
    if (replay.next >= replay.stopAt) {
      this.replay = undefined;
      const markId = randomUUID();
      void this.writes.retrying('replay mark', () => markReplayed(this.log, this.parkedStream, replay.stopAt, markId)).catch(() => undefined);
    }
  }

  /** Sends what consumers have room for, retries first. Returns how many were sent. */
  private dispatch(): number {
    if (this.consumers.length === 0) return 0;
    const retried = this.drain(this.retries);
    if (retried.full) return retried.sent;
    return retried.sent + this.drain(this.buffer).sent;
  }

  private drain(queue: MessageQueue): { sent: number; full: boolean } {
    let sent = 0;
    if (!this.strategy.mayReorder) {
      for (let message = queue.peek(); message; message = queue.peek()) {
        const choice = this.strategy.pick(message.event, this.consumers);
        if (choice === 'full' || choice === 'skip') return { sent, full: true };
        queue.shift();
        this.send(message, choice);
        sent++;
      }
      return { sent, full: false };
    }
    let full = false;
    queue.retain((message) => {
      const choice = this.strategy.pick(message.event, this.consumers);
      if (choice === 'full') {
        full = true;
        return true;
      }
      if (choice === 'skip') return true;
      this.send(message, choice);
      sent++;
      return false;
    }, () => full);
    return { sent, full };
  }

  private send(message: Message, consumer: Consumer): void {
    const now = Date.now();
    const timeout = this.definition.settings.messageTimeoutMs;
    this.inFlight.set(message.id, { message, consumer, sentAt: now, deadline: timeout > 0 ? now + timeout : Number.POSITIVE_INFINITY });
    consumer.messages.add(message.id);
    consumer.inFlight++;
    consumer.inFlightBytes += messageBytes(message);
    consumer.totalItems++;
    this.totalItems++;
    this.deliveries.delivered(eventIdOf(message), now);
    consumer.sink.deliver(message.event, message.retryCount);
  }

  // ---- acknowledgements ------------------------------------------------------------------

  private takeInFlight(id: string): InFlight | undefined {
    const entry = this.inFlight.get(id);
    if (!entry) return undefined;
    this.inFlight.delete(id);
    entry.consumer.messages.delete(id);
    entry.consumer.inFlight--;
    entry.consumer.inFlightBytes -= messageBytes(entry.message);
    return entry;
  }

  private ack(consumer: Consumer, ids: string[]): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const id of ids) {
      const entry = this.takeInFlight(id);
      if (!entry) continue;
      consumer.latency?.record(now - entry.sentAt);
      this.deliveries.settled(eventIdOf(entry.message), 'acked', now);
      this.finish(entry.message);
    }
    this.maybeCheckpoint(false);
    // Acks arrive one message each: refill once for all the acks read together.
    this.schedulePump();
  }

  private nack(ids: string[], action: NackAction, reason: string): void {
    if (this.stopped) return;
    for (const id of ids) {
      const entry = this.takeInFlight(id);
      if (!entry) continue;
      this.deliveries.settled(eventIdOf(entry.message), action, Date.now());
      switch (action) {
        case 'park':
          this.park(entry.message, `Client explicitly NAK'ed message.\n${reason}`);
          break;
        case 'retry':
        case 'unknown':
          this.retryOrPark(entry.message);
          break;
        case 'skip':
        case 'stop':
          // EventStoreDB's Stop does nothing more than forget the message, like Skip.
          this.finish(entry.message);
          break;
      }
    }
    this.maybeCheckpoint(false);
    // Refilled as acks are: once for all that was read together, retries first, so a retry never
    // goes out behind events sent after it was asked for.
    this.schedulePump();
  }

  private remove(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    this.strategy.removed(consumer);
    if (this.stopped) return;
    const lost = [...consumer.messages].map((id) => this.takeInFlight(id)!.message);
    lost.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    for (const message of lost) this.retryOrPark(message);
    this.pump();
  }

  private retryOrPark(message: Message): void {
    const max = this.definition.settings.maxRetryCount;
    if (message.retryCount >= max) {
      this.park(message, `Reached retry count of ${max}`);
      return;
    }
    message.retryCount++;
    this.retries.insertOrdered(message);
  }

  private park(message: Message, reason: string): void {
    // Done only once the parked copy is durable: a crash before that redelivers it instead. A
    // failed write is retried (the same event id each time) until it lands or the group stops;
    // meanwhile the message stays unfinished, so the checkpoint never passes it.
    const parkedId = randomUUID();
    this.writes
      .retrying('park', () => parkMessage(this.log, this.parkedStream, message.event, message.key, reason, parkedId))
      .then(() => {
        this.finish(message);
        this.maybeCheckpoint(false);
      })
      .catch(() => undefined);
  }

  private finish(message: Message): void {
    if (message.seq !== undefined) this.unfinished.delete(message.seq);
  }

  // ---- time: timeouts and checkpoints ------------------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    const expired: InFlight[] = [];
    for (const entry of this.inFlight.values()) if (entry.deadline <= now) expired.push(entry);
    for (const entry of expired) {
      this.takeInFlight(entry.message.id);
      this.deliveries.settled(eventIdOf(entry.message), 'timed out', now);
      this.retryOrPark(entry.message);
    }
    this.maybeCheckpoint(true);
    this.pump();
  }

  private maybeCheckpoint(isTimeCheck: boolean, force = false): void {
    if (this.stopped) return;
    const candidate = this.checkpointCandidate();
    if (force) {
      if (candidate) this.checkpointer.writeNow(candidate.key, candidate.seq);
    } else {
      this.checkpointer.consider(candidate, isTimeCheck);
    }
  }

  private checkpointCandidate(): CheckpointCandidate | undefined {
    const lowest = this.unfinished.values().next();
    if (!lowest.done) {
      const message = lowest.value;
      if (message.prevKey === undefined) return undefined;
      return { key: message.prevKey, seq: message.seq! - 1 };
    }
    if (this.lastReadKey === undefined) return undefined;
    return { key: this.lastReadKey, seq: this.nextSeq - 1 };
  }
}

/**
 * EventStoreDB accepts any buffer sizes with a read batch smaller than the history buffer
 * (settingsProblem): a zero or negative batch or live buffer still has to move events.
 */
function effectiveSizes(settings: GroupDefinition['settings']): { readBatch: number; history: number; live: number } {
  const readBatch = Math.max(1, settings.readBatchSize);
  return { readBatch, history: Math.max(readBatch, settings.historyBufferSize), live: Math.max(1, settings.liveBufferSize) };
}

/** The event's own id (a link's target), as the trace page knows it. */
function eventIdOf(message: Message): string {
  return message.event.event?.id ?? message.id;
}

function tickInterval(definition: GroupDefinition): number {
  const { messageTimeoutMs, checkPointAfterMs } = definition.settings;
  const candidates = [1000];
  if (messageTimeoutMs > 0) candidates.push(messageTimeoutMs / 4);
  if (checkPointAfterMs > 0) candidates.push(checkPointAfterMs / 2);
  return Math.max(5, Math.floor(Math.min(...candidates)));
}
