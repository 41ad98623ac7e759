// The WhatsApp handler's look-up of an order's customer keeps what each order's creation said,
// and answers from it only for the customer the event names: an order stream deleted and
// created again for someone else is read again, so a message never goes to the earlier phone.
import { describe, expect, it } from 'vitest';
import { orderStreamName } from '../../../src/orders/index.js';
import { cachedOrderCustomerLookup } from '../../../src/handlers/order-lookup.js';
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
});
