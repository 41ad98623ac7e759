import { describe, expect, it } from 'vitest';
import { notificationFor } from '../../../src/handlers/notification.js';
import { cancelledUnpaid, paidAndShipped } from '../projections/envelopes.js';

describe('customer notifications', () => {
  it('confirms a new order with its item count and total', () => {
    const [created] = paidAndShipped('o-1');
    expect(notificationFor(created!)).toEqual({
      orderId: 'o-1',
      tenantId: 'tenant-a',
      customerId: 'cust-1',
      kind: 'order_confirmation',
      message: 'Your order o-1 is confirmed: 1 item(s), 30.00 EUR.',
    });
  });

  it('tells the new status on a status change, and nothing on other events', () => {
    const [, cancelled, statusChanged] = cancelledUnpaid('o-2');
    expect(notificationFor(statusChanged!)).toMatchObject({ kind: 'status_update', status: 'CANCELLED', message: 'Your order o-2 was cancelled.' });
    expect(notificationFor(cancelled!)).toBeUndefined();
  });
});
