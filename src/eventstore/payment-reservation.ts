// One paymentId pays one order of a tenant: a reservation stream per tenant and paymentId,
// `payment-<tenantId>-<paymentId>`, as an EventStoreDB user builds a uniqueness check. Its last
// event says who holds the id: `payment-id.reserved` (with the order) or `payment-id.released`.
// Appends carry the revision read (NO_STREAM for a first use), so two orders racing for one id
// cannot both win.
//
// The reservation and the payment are two appends to two streams, never atomic. The reservation
// goes first: a crash after it leaves the id held by the order it was meant for, and a retry of
// the same order and paymentId goes through (the order's own idempotency by paymentId does the
// rest); no crash can record one paymentId on two orders. A payment the order then refuses
// (unknown order, nothing outstanding, ...) releases the id again, unless the order holds it.
import { BACKWARDS, END, NO_STREAM, StreamNotFoundError, WrongExpectedVersionError, jsonEvent, type EventStoreDBClient } from '@eventstore/db-client';
import { OrderError } from '../orders/order-errors.js';
import { ConcurrencyConflictError } from './errors.js';

export const PAYMENT_ID_RESERVED = 'payment-id.reserved';
export const PAYMENT_ID_RELEASED = 'payment-id.released';

export function paymentReservationStream(tenantId: string, paymentId: string): string {
  return `payment-${tenantId}-${paymentId}`;
}

interface Holder {
  revision: bigint;
  /** The order holding the id; undefined once released. */
  orderId: string | undefined;
}

export interface PaymentIdUse {
  tenantId: string;
  paymentId: string;
  orderId: string;
  /** `$correlationId` etc. of the request, so the reservation shows in its trace. */
  metadata: Record<string, unknown>;
}

async function currentHolder(client: EventStoreDBClient, stream: string): Promise<Holder | undefined> {
  let holder: Holder | undefined;
  try {
    // Read to the end (one event), never left early: an abandoned read keeps the client's dispose() pending.
    for await (const resolved of client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
      const event = resolved.event;
      if (!event || holder) continue;
      const data = event.data as { orderId?: unknown };
      holder = { revision: event.revision, orderId: event.type === PAYMENT_ID_RESERVED && typeof data.orderId === 'string' ? data.orderId : undefined };
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return holder;
}

/**
 * Holds `paymentId` for `orderId`: done when it is free or already this order's. Throws
 * PAYMENT_ID_IN_USE when another order of the tenant holds it. Returns the reservation's revision.
 */
export async function reservePaymentId(client: EventStoreDBClient, use: PaymentIdUse): Promise<bigint> {
  const stream = paymentReservationStream(use.tenantId, use.paymentId);
  const reserved = () => jsonEvent({ type: PAYMENT_ID_RESERVED, data: { tenantId: use.tenantId, paymentId: use.paymentId, orderId: use.orderId }, metadata: use.metadata });
  // Most paymentIds are new: claim the id without reading first.
  let holder: Holder | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) {
      holder = await currentHolder(client, stream);
      if (holder?.orderId === use.orderId) return holder.revision;
      if (holder?.orderId !== undefined) {
        throw new OrderError('PAYMENT_ID_IN_USE', `payment ${use.paymentId} was already used for order ${holder.orderId}`, {
          orderId: use.orderId,
          paymentId: use.paymentId,
          usedBy: holder.orderId,
        });
      }
    }
    try {
      const result = await client.appendToStream(stream, reserved(), { expectedRevision: holder ? holder.revision : NO_STREAM });
      return result.nextExpectedRevision;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      // The id has a reservation (or another request moved it first): look at it.
    }
  }
  throw new ConcurrencyConflictError(stream, 5);
}

/** Frees the id this order held at `revision`; a no-op when the reservation moved since. */
export async function releasePaymentId(client: EventStoreDBClient, use: PaymentIdUse, revision: bigint): Promise<void> {
  const stream = paymentReservationStream(use.tenantId, use.paymentId);
  try {
    const event = jsonEvent({ type: PAYMENT_ID_RELEASED, data: { tenantId: use.tenantId, paymentId: use.paymentId, orderId: use.orderId }, metadata: use.metadata });
    await client.appendToStream(stream, event, { expectedRevision: revision });
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
  }
}
