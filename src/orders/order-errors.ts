// Domain errors are values with a stable code; the API maps each code to an HTTP status in one
// place (src/api/error-registry.ts).
import type { OrderStatus } from './order-status.js';

export const ORDER_ERROR_CODES = [
  'ORDER_NOT_FOUND',
  'ORDER_ALREADY_EXISTS',
  'ORDER_NOT_PAYABLE',
  'ORDER_NOT_SHIPPABLE',
  'ORDER_NOT_DELIVERABLE',
  'ORDER_NOT_CANCELLABLE',
  'ORDER_NOT_RETURNABLE',
  'ORDER_NOT_REFUNDABLE',
  'PAYMENT_CONFLICT',
  'PAYMENT_EXCEEDS_BALANCE',
  'REFUND_EXCEEDS_PAID',
  'AMOUNT_OUT_OF_RANGE',
  'PAYMENT_ID_IN_USE',
] as const;
export type OrderErrorCode = (typeof ORDER_ERROR_CODES)[number];

export interface OrderErrorDetails {
  orderId?: string;
  /** The order's status when the command was refused. */
  status?: OrderStatus;
  [key: string]: unknown;
}

export class OrderError extends Error {
  constructor(
    readonly code: OrderErrorCode,
    message: string,
    readonly details: OrderErrorDetails = {},
  ) {
    super(message);
    this.name = 'OrderError';
  }
}

export function isOrderError(error: unknown): error is OrderError {
  return error instanceof OrderError;
}
