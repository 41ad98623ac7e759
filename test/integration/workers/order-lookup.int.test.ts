// The WhatsApp handler's look-up of an order's customer keeps what each order's creation said,
// and answers from it only for the customer the event names: an order stream deleted and
// created again for someone else is read again, so a message never goes to the earlier phone.
import { describe, expect, it } from 'vitest';
import { orderStreamName } from '../../../src/orders/index.js';
import { FORWARDS, START } from '@eventstore/db-client';
import { cachedOrderCustomerLookup, findOrderCustomer } from '../../../src/handlers/order-lookup.js';
import { toEventEnvelope, type EventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { useTestEventStore } from '../../helpers/event-store.js';
import { OrderWriter } from './order-writer.js';

const events = useTestEventStore();

async function recreate(orderId: string, customer: { id?: string; phone: string }): Promise<void> {
  await events.client.deleteStream(orderStreamName(orderId));
  await new OrderWriter(events.client).create(orderId, { customer });
}

describe('the cached look-up of an order\'s customer', () => {
  it('answers with the customer of the order\'s creation, again for its next status change', async () => {
    const lookup = cachedOrderCustomerLookup();
    await new OrderWriter(events.client).create('lookup-1', { customer: { id: 'c-1', phone: '+14155550101' } });
    const stream = orderStreamName('lookup-1');
    expect((await lookup(events.client, stream, 'c-1'))?.phone).toBe('+14155550101');
    expect((await lookup(events.client, stream, 'c-1'))?.phone).toBe('+14155550101');
  });

  it('reads the stream again when the event names another customer than the one kept', async () => {
    const lookup = cachedOrderCustomerLookup();
    await new OrderWriter(events.client).create('lookup-2', { customer: { id: 'c-1', phone: '+14155550101' } });
    const stream = orderStreamName('lookup-2');
    expect((await lookup(events.client, stream, 'c-1'))?.phone).toBe('+14155550101');
    await recreate('lookup-2', { id: 'c-2', phone: '+14155550102' });
    expect(await lookup(events.client, stream, 'c-2')).toEqual({ id: 'c-2', phone: '+14155550102' });
  });

  it('keeps no customer without an id: each look-up reads the stream', async () => {
    const lookup = cachedOrderCustomerLookup();
    await new OrderWriter(events.client).create('lookup-3', { customer: { phone: '+14155550103' } });
    const stream = orderStreamName('lookup-3');
    expect((await lookup(events.client, stream, undefined))?.phone).toBe('+14155550103');
    await recreate('lookup-3', { phone: '+14155550104' });
    expect((await lookup(events.client, stream, undefined))?.phone).toBe('+14155550104');
  });

  it('forgets the least recently used order past its capacity', async () => {
    const lookup = cachedOrderCustomerLookup(undefined, 1);
    await new OrderWriter(events.client).create('lookup-4', { customer: { id: 'c-4', phone: '+14155550105' } });
    await new OrderWriter(events.client).create('lookup-5', { customer: { id: 'c-5', phone: '+14155550106' } });
    await lookup(events.client, orderStreamName('lookup-4'), 'c-4');
    await lookup(events.client, orderStreamName('lookup-5'), 'c-5');
    // lookup-4 was forgotten: after its stream is created again for the same customer id with
    // another phone, the look-up reads it (a kept entry would still answer the first phone).
    await recreate('lookup-4', { id: 'c-4', phone: '+14155550107' });
    expect((await lookup(events.client, orderStreamName('lookup-4'), 'c-4'))?.phone).toBe('+14155550107');
  });

  it('answers from a creation noted in passing without reading the stream, for the customer it named only', async () => {
    let reads = 0;
    const lookup = cachedOrderCustomerLookup(async (client, stream) => {
      reads++;
      return findOrderCustomer(client, stream);
    });
    const writer = new OrderWriter(events.client);
    await writer.create('lookup-6', { customer: { id: 'c-6', phone: '+14155550108' } });
    await writer.pay('lookup-6', 2000);
    const stream = orderStreamName('lookup-6');
    const history: EventEnvelope[] = [];
    for await (const resolved of events.client.readStream(stream, { direction: FORWARDS, fromRevision: START })) history.push(toEventEnvelope(resolved.event!));
    // Any other event is ignored: nothing is known of the order before its creation is noted.
    for (const event of history.filter((each) => each.type !== 'order.created')) lookup.noteCreation(event);
    expect((await lookup(events.client, stream, 'c-6'))?.phone).toBe('+14155550108');
    expect(reads).toBe(1);

    const fresh = cachedOrderCustomerLookup(async (client, name) => {
      reads++;
      return findOrderCustomer(client, name);
    });
    reads = 0;
    fresh.noteCreation(history.find((each) => each.type === 'order.created')!);
    expect(await fresh(events.client, stream, 'c-6')).toEqual({ id: 'c-6', phone: '+14155550108' });
    expect(reads).toBe(0);
    // An event naming another customer (the stream created again for someone else) is read.
    await recreate('lookup-6', { id: 'c-7', phone: '+14155550109' });
    expect((await fresh(events.client, stream, 'c-7'))?.phone).toBe('+14155550109');
    expect(reads).toBe(1);
  });
});
