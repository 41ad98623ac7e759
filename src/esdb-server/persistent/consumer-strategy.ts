// Which connected consumer gets the next message, as EventStoreDB's named consumer strategies:
// - RoundRobin: each message to the next consumer (in turn) that has a free slot.
// - DispatchToSingle: everything to the first consumer until its buffer is full, then the next.
// - Pinned / PinnedByCorrelation: a source stream (or correlation id) hashes to a bucket and a
//   bucket sticks to one consumer; when that consumer is full the message waits (is skipped for
//   now) instead of going elsewhere, so one stream's events are never handled concurrently.
import { correlationIdOf } from '../log/system-streams.js';
import type { ResolvedEvent } from '../log/types.js';
import type { ConsumerStrategyName } from './definition.js';

export interface Slotted {
  readonly id: number;
  readonly bufferSize: number;
  readonly inFlight: number;
  /** Bytes of event data and metadata in flight (messageBytes); unset counts as none. */
  readonly inFlightBytes?: number;
}

/**
 * Bytes of event data a consumer has in flight at most, on top of its bufferSize (which counts
 * events, as EventStoreDB's does): one message is always sent to a consumer with nothing in
 * flight. Counted in events alone, the service's projections group (500 in flight) held 28 MB of
 * ~56 KB orders in the store's thread and as many in the service's, while the service shed load
 * and after (#11).
 */
export const IN_FLIGHT_BYTES = 8 * 1024 * 1024;

/** A consumer, 'skip' (leave this message, try the next one) or 'full' (nobody can take more). */
export type PushDecision<C extends Slotted> = C | 'skip' | 'full';

export interface ConsumerStrategy<C extends Slotted> {
  /** True when the strategy may skip a message and take a later one. */
  readonly mayReorder: boolean;
  pick(event: ResolvedEvent, consumers: readonly C[]): PushDecision<C>;
  removed(consumer: C): void;
}

export function createConsumerStrategy<C extends Slotted>(name: ConsumerStrategyName): ConsumerStrategy<C> {
  switch (name) {
    case 'RoundRobin':
      return roundRobin();
    case 'DispatchToSingle':
      return dispatchToSingle();
    case 'Pinned':
      return pinned((event) => sourceStreamOf(event));
    case 'PinnedByCorrelation':
      return pinned((event) => {
        const original = event.event ?? event.link;
        return (original && correlationIdOf(original.metadata)) ?? sourceStreamOf(event);
      });
  }
}

function hasSlot(consumer: Slotted): boolean {
  return consumer.inFlight < consumer.bufferSize && (consumer.inFlight === 0 || (consumer.inFlightBytes ?? 0) < IN_FLIGHT_BYTES);
}

function roundRobin<C extends Slotted>(): ConsumerStrategy<C> {
  let next = 0;
  return {
    mayReorder: false,
    pick(_event, consumers) {
      const count = consumers.length;
      for (let i = 0; i < count; i++) {
        const index = (next + i) % count;
        const consumer = consumers[index]!;
        if (hasSlot(consumer)) {
          next = (index + 1) % count;
          return consumer;
        }
      }
      return 'full';
    },
    removed() {},
  };
}

function dispatchToSingle<C extends Slotted>(): ConsumerStrategy<C> {
  return {
    mayReorder: false,
    pick(_event, consumers) {
      return consumers.find(hasSlot) ?? 'full';
    },
    removed() {},
  };
}

const BUCKETS = 1024;

function pinned<C extends Slotted>(keyOf: (event: ResolvedEvent) => string): ConsumerStrategy<C> {
  const owners = new Map<number, C>();
  const owned = new Map<C, number>();
  return {
    mayReorder: true,
    pick(event, consumers) {
      if (!consumers.some(hasSlot)) return 'full';
      const bucket = hashOf(keyOf(event)) % BUCKETS;
      let owner = owners.get(bucket);
      if (!owner || !consumers.includes(owner)) {
        // The consumer owning the fewest buckets takes the bucket over.
        owner = consumers.reduce((best, consumer) => ((owned.get(consumer) ?? 0) < (owned.get(best) ?? 0) ? consumer : best));
        owners.set(bucket, owner);
        owned.set(owner, (owned.get(owner) ?? 0) + 1);
      }
      return hasSlot(owner) ? owner : 'skip';
    },
    removed(consumer) {
      owned.delete(consumer);
      for (const [bucket, owner] of owners) if (owner === consumer) owners.delete(bucket);
    },
  };
}

/** The stream an event really belongs to (for a resolved link: its target's stream). */
function sourceStreamOf(event: ResolvedEvent): string {
  return event.event?.stream ?? event.link?.stream ?? '';
}

/** FNV-1a: stable across restarts, unlike anything keyed on object identity. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
