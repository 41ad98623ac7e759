// Retries keep EventStoreDB's order: once a consumer has room, a nacked (retry) event goes out
// before new events. Acks and nacks refill the consumer the same way, so a consumer that acks a
// batch and nacks one event, then reads exactly as many messages as it freed, gets the retry
// among them and misses nothing.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { START, persistentSubscriptionToStreamSettingsFromDefaults } from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { appendNumbered, eventually, numberOf, RecordingConsumer, type Received } from './support.js';

const esdb = useTestEventStore();
const BUFFER = 10;

async function heldConsumer(events: number) {
  const stream = `order-${randomUUID()}`;
  const group = `group-${randomUUID().slice(0, 8)}`;
  await appendNumbered(esdb.client, stream, 0, events);
  await esdb.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }));
  const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, group, { bufferSize: BUFFER }), 'hold');
  await eventually(() => consumer.received.length === BUFFER);
  return consumer;
}

const label = (event: Received) => `${numberOf(event)}${event.retryCount > 0 ? 'r' : ''}`;

describe('a nack with retry next to a batch of acks', () => {
  it.each([
    ['acks first, then the nack', 'acks-first'],
    ['the nack first, then the acks', 'nack-first'],
  ] as const)('%s: the next messages, as many as were freed, hold the retry and the new events', async (_name, order) => {
    const consumer = await heldConsumer(40);
    try {
      const first = consumer.received.slice(0, BUFFER);
      const retried = first[4]!;
      const acked = first.filter((event) => event !== retried);
      const sent = order === 'acks-first'
        ? [consumer.subscription.ack(...acked), consumer.subscription.nack('retry', 'try again', retried)]
        : [consumer.subscription.nack('retry', 'try again', retried), consumer.subscription.ack(...acked)];
      await Promise.all(sent);
      // A consumer that reads exactly as many messages as it freed slots.
      await eventually(() => consumer.received.length >= 2 * BUFFER);
      const next = consumer.received.slice(BUFFER, 2 * BUFFER).map(label);
      const fresh = Array.from({ length: BUFFER - 1 }, (_, i) => String(BUFFER + i));
      // The nack first: its freed slot takes the retry at once, before the acks free theirs.
      // The acks first: they may refill before the nack is read (as on EventStoreDB, which
      // refills on every ack); the retry then takes the slot the nack frees.
      if (order === 'nack-first') expect(next).toEqual(['4r', ...fresh]);
      else expect([...next].sort()).toEqual(['4r', ...fresh].sort());
      expect(consumer.received.length).toBe(2 * BUFFER);
    } finally {
      await consumer.stop();
    }
  });

  it('many rounds of acks and retries: every event arrives, each retry before the events read after it', async () => {
    const consumer = await heldConsumer(200);
    const nacked = new Set<number>();
    consumer.handleWith(async (event, self) => {
      const n = numberOf(event);
      if (n % 7 === 3 && event.retryCount === 0) {
        nacked.add(n);
        await self.subscription.nack('retry', 'try again', event);
      } else {
        await self.subscription.ack(event);
      }
    });
    try {
      for (const event of consumer.received.slice(0, BUFFER)) {
        if (numberOf(event) % 7 === 3) {
          nacked.add(numberOf(event));
          await consumer.subscription.nack('retry', 'try again', event);
        } else {
          await consumer.subscription.ack(event);
        }
      }
      const total = 200 + [...Array(200).keys()].filter((n) => n % 7 === 3).length;
      await eventually(() => consumer.received.length >= total, { timeout: 15_000 });
      const labels = consumer.received.map(label);
      for (const n of nacked) {
        const retry = labels.indexOf(`${n}r`);
        expect(retry).toBeGreaterThan(labels.indexOf(String(n)));
        // Redelivered as soon as there was room: within one buffer of messages after the nack.
        expect(retry - labels.indexOf(String(n))).toBeLessThanOrEqual(BUFFER);
      }
      expect(new Set(consumer.received.map(numberOf)).size).toBe(200);
    } finally {
      await consumer.stop();
    }
  });
});
