// The store's own Prometheus registry (never prom-client's global one: an app in the same process
// has its own) and the counters behind /metrics, /stats and the UI's dashboard. Client traffic
// is counted by wrapping the EventLog the Streams service is given: appends, reads, the writer
// queue (appends waiting to be durable), commit time and live catch-up subscriptions.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventLog, ExpectedRevision, ProposedEvent, ReadAllOptions, ReadStreamOptions } from '../log/types.js';
import type { SubscriptionRegistry } from '../persistent/subscription-registry.js';
import { groupFigures } from './group-figures.js';

export interface TrafficSnapshot {
  at: number;
  appends: number;
  appendedEvents: number;
  reads: number;
  readEvents: number;
}

export interface StoreMetrics {
  registry: Registry;
  /** The log as the Streams service should see it: every call counted. */
  instrument(log: EventLog): EventLog;
  traffic(): TrafficSnapshot;
  /** Appends handed to the writer and not durable yet. */
  writerQueue(): number;
  catchUpSubscriptions(): number;
  /** Per second over the last few seconds. */
  rates(): { appendsPerSecond: number; readsPerSecond: number; appendedEventsPerSecond: number; readEventsPerSecond: number };
  close(): void;
}

const SAMPLE_EVERY_MS = 1_000;
const SAMPLES_KEPT = 6;

export function createStoreMetrics(options: { log: EventLog; groups: SubscriptionRegistry }): StoreMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'eventstore_' });
  const traffic: TrafficSnapshot = { at: Date.now(), appends: 0, appendedEvents: 0, reads: 0, readEvents: 0 };
  let queued = 0;
  let subscriptions = 0;

  const appends = new Counter({ name: 'eventstore_appends_total', help: 'Appends (and deletes) by clients, by result', labelNames: ['result'], registers: [registry] });
  const appendedEvents = new Counter({ name: 'eventstore_appended_events_total', help: 'Events written by client appends', registers: [registry] });
  const reads = new Counter({ name: 'eventstore_reads_total', help: 'Reads of a stream or of $all by clients (a catch-up subscription reads in pages)', labelNames: ['source'], registers: [registry] });
  const readEvents = new Counter({ name: 'eventstore_read_events_total', help: 'Events returned by client reads', labelNames: ['source'], registers: [registry] });
  const commit = new Histogram({
    name: 'eventstore_append_commit_seconds',
    help: 'From an append entering the writer queue until it is durable: waiting for its group, the transaction and the fsync',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({ name: 'eventstore_writer_queue_appends', help: 'Appends handed to the writer and not durable yet', registers: [registry], collect() { this.set(queued); } });
  new Gauge({ name: 'eventstore_subscriptions', help: 'Live catch-up subscriptions (stream and $all)', registers: [registry], collect() { this.set(subscriptions); } });
  new Gauge({ name: 'eventstore_head_position', help: 'Position of the newest event in $all (-1: empty)', registers: [registry], collect() { this.set(options.log.headPosition()); } });

  const groupLabels = ['event_stream_id', 'group_name'];
  const groupGauge = (name: string, help: string, pick: (figures: ReturnType<typeof groupFigures>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: groupLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const group of options.groups.list()) {
          const figures = groupFigures(group, options.log);
          this.set({ event_stream_id: figures.source, group_name: figures.group }, pick(figures));
        }
      },
    });
  groupGauge('eventstore_persistent_sub_connections', 'Consumers connected to a persistent subscription group', (f) => f.connections);
  groupGauge('eventstore_persistent_sub_in_flight_messages', 'Messages sent to consumers and not acked yet', (f) => f.inFlight);
  groupGauge('eventstore_persistent_sub_parked_messages', 'Messages parked (in the group parked stream, not replayed yet)', (f) => f.parked);
  groupGauge('eventstore_persistent_sub_behind_by', 'Events in the source after the last checkpoint (for $all: all positions after it)', (f) => f.behindBy ?? 0);
  groupGauge('eventstore_persistent_sub_checkpointed_position', 'Last checkpoint: a revision (stream) or a position ($all); -1 when none', (f) => f.lastCheckpoint ?? -1);

  const samples: TrafficSnapshot[] = [{ ...traffic }];
  const sampler = setInterval(() => {
    samples.push({ ...traffic, at: Date.now() });
    if (samples.length > SAMPLES_KEPT) samples.shift();
  }, SAMPLE_EVERY_MS);
  sampler.unref();

  const count = (source: 'stream' | 'all', events: number) => {
    traffic.reads++;
    traffic.readEvents += events;
    reads.inc({ source });
    readEvents.inc({ source }, events);
  };

  const timedAppend = async <T extends { kind: string }>(events: number, run: () => Promise<T>): Promise<T> => {
    queued++;
    const stop = commit.startTimer();
    try {
      const result = await run();
      traffic.appends++;
      appends.inc({ result: result.kind });
      if (result.kind === 'success') {
        traffic.appendedEvents += events;
        appendedEvents.inc(events);
      }
      return result;
    } catch (error) {
      appends.inc({ result: 'error' });
      throw error;
    } finally {
      queued--;
      stop();
    }
  };

  return {
    registry,
    instrument(log: EventLog): EventLog {
      return {
        append: (stream: string, expected: ExpectedRevision, events: ProposedEvent[]) => timedAppend(events.length, () => log.append(stream, expected, events)),
        deleteStream: (stream: string, expected: ExpectedRevision) => timedAppend(0, () => log.deleteStream(stream, expected)),
        tombstoneStream: (stream: string, expected: ExpectedRevision) => timedAppend(0, () => log.tombstoneStream(stream, expected)),
        readStream(stream: string, readOptions: ReadStreamOptions) {
          const result = log.readStream(stream, readOptions);
          count('stream', result.kind === 'ok' ? result.events.length : 0);
          return result;
        },
        readAll(readOptions: ReadAllOptions) {
          const result = log.readAll(readOptions);
          count('all', result.events.length);
          return result;
        },
        streamRevision: (stream: string) => log.streamRevision(stream),
        headPosition: () => log.headPosition(),
        onCommit(listener) {
          subscriptions++;
          const unsubscribe = log.onCommit(listener);
          let done = false;
          return () => {
            if (!done) {
              done = true;
              subscriptions--;
            }
            return unsubscribe();
          };
        },
        close: () => log.close(),
      };
    },
    traffic: () => ({ ...traffic, at: Date.now() }),
    writerQueue: () => queued,
    catchUpSubscriptions: () => subscriptions,
    rates() {
      const now = { ...traffic, at: Date.now() };
      const first = samples[0]!;
      const seconds = Math.max(0.001, (now.at - first.at) / 1000);
      return {
        appendsPerSecond: (now.appends - first.appends) / seconds,
        appendedEventsPerSecond: (now.appendedEvents - first.appendedEvents) / seconds,
        readsPerSecond: (now.reads - first.reads) / seconds,
        readEventsPerSecond: (now.readEvents - first.readEvents) / seconds,
      };
    },
    close() {
      clearInterval(sampler);
      registry.clear();
    },
  };
}
