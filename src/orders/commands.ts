// What callers ask of an order. Time, ids, the tenant and the actor arrive in the command's
// context: the domain never reads a clock or the network.
import type { Customer, OrderItem } from './events.js';

export interface CommandContext {
  /** Unique per command; the `$causationId` of the events it produces unless `causationId` is set. */
  commandId: string;
  tenantId: string;
  /** e.g. `api-key:1a2b3c4d`. */
  actor: string;
  /** ISO 8601 time of the command. */
  at: string;
  correlationId: string;
  /** The event that caused this command, when a reaction issues it. */
  causationId?: string;
  traceparent?: string;
}

export type CreateOrder = {
  type: 'CreateOrder';
  orderId: string;
  customer: Customer;
  currency: string;
  items: OrderItem[];
  context: CommandContext;
};
export type RecordPayment = {
  type: 'RecordPayment';
  orderId: string;
  paymentId: string;
  amount: number;
  method: string;
  reference?: string;
  context: CommandContext;
};
export type ShipOrder = { type: 'ShipOrder'; orderId: string; carrier?: string; trackingNumber?: string; context: CommandContext };
export type DeliverOrder = { type: 'DeliverOrder'; orderId: string; context: CommandContext };
export type CancelOrder = { type: 'CancelOrder'; orderId: string; reason?: string; context: CommandContext };
export type ReturnOrder = { type: 'ReturnOrder'; orderId: string; reason?: string; context: CommandContext };
/** `amount` defaults to everything paid and not yet refunded. */
export type RefundOrder = { type: 'RefundOrder'; orderId: string; amount?: number; context: CommandContext };

export type OrderCommand = CreateOrder | RecordPayment | ShipOrder | DeliverOrder | CancelOrder | ReturnOrder | RefundOrder;
