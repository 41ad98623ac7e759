// A consumer connected to a group, as the group sees it: where its messages go, its slots, what
// it has in flight, and the figures getInfo reports about its connection.
import type { ResolvedEvent } from '../log/types.js';
import type { Slotted } from './consumer-strategy.js';
import { LatencyRecorder } from './latency.js';

export type NackAction = 'park' | 'retry' | 'skip' | 'stop' | 'unknown';
export type DropReason = 'deleted' | 'updated' | 'restarted' | 'shutdown';

/** Where a consumer's messages go: the gRPC call, seen from the group. */
export interface ConsumerSink {
  deliver(event: ResolvedEvent, retryCount: number): void;
  drop(reason: DropReason): void;
}

export interface ConsumerHandle {
  ack(ids: string[]): void;
  nack(ids: string[], action: NackAction, reason: string): void;
  /** The consumer went away: its unacked messages go to the others. */
  leave(): void;
}

export interface ConnectionStats {
  from: string;
  connectionName: string;
  averageItemsPerSecond: number;
  totalItems: number;
  countSinceLastMeasurement: number;
  availableSlots: number;
  inFlightMessages: number;
  measurements: [string, number][];
}


export interface Consumer extends Slotted {
  readonly id: number;
  readonly bufferSize: number;
  inFlight: number;
  inFlightBytes: number;
  readonly sink: ConsumerSink;
  readonly connectionName: string;
  readonly from: string;
  readonly messages: Set<string>;
  totalItems: number;
  measured: { at: number; items: number };
  readonly latency: LatencyRecorder | undefined;
}

export function createConsumer(id: number, sink: ConsumerSink, bufferSize: number, connectionName: string, from: string, extraStatistics: boolean): Consumer {
  return {
    id,
    bufferSize: Math.max(1, bufferSize),
    inFlight: 0,
    inFlightBytes: 0,
    sink,
    connectionName,
    from,
    messages: new Set(),
    totalItems: 0,
    measured: { at: Date.now(), items: 0 },
    latency: extraStatistics ? new LatencyRecorder() : undefined,
  };
}

/** The connection's figures; the average rate is over the time since the previous call. */
export function connectionStats(consumer: Consumer, now: number): ConnectionStats {
  const since = consumer.totalItems - consumer.measured.items;
  const seconds = (now - consumer.measured.at) / 1000;
  consumer.measured = { at: now, items: consumer.totalItems };
  return {
    from: consumer.from,
    connectionName: consumer.connectionName,
    averageItemsPerSecond: seconds > 0 ? since / seconds : 0,
    totalItems: consumer.totalItems,
    countSinceLastMeasurement: since,
    availableSlots: consumer.bufferSize - consumer.inFlight,
    inFlightMessages: consumer.inFlight,
    measurements: consumer.latency?.measurements() ?? [],
  };
}
