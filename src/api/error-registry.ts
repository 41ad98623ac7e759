// Every error code the API answers with, its HTTP status and title: the one place where domain
// and infrastructure failures become HTTP. Codes are a contract with clients; never rename one.
import type { OrderErrorCode } from '../orders/order-errors.js';

interface ErrorEntry {
  status: number;
  title: string;
}

const domainErrors: Record<OrderErrorCode, ErrorEntry> = {
  ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
  ORDER_ALREADY_EXISTS: { status: 409, title: 'An order with this id already exists with other content' },
  ORDER_NOT_PAYABLE: { status: 409, title: 'The order takes no payments in its current status' },
  ORDER_NOT_SHIPPABLE: { status: 409, title: 'The order cannot be shipped in its current status' },
  ORDER_NOT_DELIVERABLE: { status: 409, title: 'The order cannot be delivered in its current status' },
  ORDER_NOT_CANCELLABLE: { status: 409, title: 'The order cannot be cancelled in its current status' },
  ORDER_NOT_RETURNABLE: { status: 409, title: 'The order cannot be returned in its current status' },
  ORDER_NOT_REFUNDABLE: { status: 409, title: 'The order cannot be refunded in its current status' },
  PAYMENT_CONFLICT: { status: 409, title: 'This paymentId was already recorded with other details' },
  PAYMENT_EXCEEDS_BALANCE: { status: 409, title: 'The payment is larger than the outstanding balance' },
  REFUND_EXCEEDS_PAID: { status: 409, title: 'The refund is larger than what was paid and not yet refunded' },
  AMOUNT_OUT_OF_RANGE: { status: 422, title: 'An amount is outside 0..10^12 minor units (the documented maximum per line, order, payment and refund)' },
  PAYMENT_ID_IN_USE: { status: 409, title: 'This paymentId was already used for another order of this tenant' },
};

const apiErrors = {
  VALIDATION_FAILED: { status: 400, title: 'The request is invalid' },
  MALFORMED_REQUEST: { status: 400, title: 'The request could not be read' },
  UNAUTHORIZED: { status: 401, title: 'A valid API key is required' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'The webhook is not signed with the app secret (X-Hub-Signature-256)' },
  WEBHOOK_VERIFICATION_FAILED: { status: 403, title: 'The webhook verification token does not match' },
  WEBHOOK_NOT_CONFIGURED: { status: 404, title: 'The WhatsApp webhook is not configured on this service' },
  METRICS_TOKEN_REQUIRED: { status: 401, title: "/metrics needs the operator's token (Authorization: Bearer <METRICS_TOKEN>)" },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONCURRENCY_CONFLICT: { status: 409, title: 'The order kept changing concurrently; retry the command' },
  ORDER_DELETED: { status: 410, title: "The order's stream was deleted for good (tombstoned) in the event store" },
  ORDER_HISTORY_TRUNCATED: { status: 410, title: "The order's history was truncated in the event store ($maxCount, $maxAge or $tb): it cannot be loaded" },
  PRECONDITION_FAILED: { status: 412, title: 'The order is not at the revision given in If-Match' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  URI_TOO_LONG: { status: 414, title: 'A path parameter is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Send the body as application/json' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests for this API key; retry after Retry-After seconds' },
  SERVICE_OVERLOADED: { status: 503, title: 'The service is overloaded; retry after Retry-After seconds' },
  EVENT_STORE_UNAVAILABLE: { status: 503, title: 'The event store is not reachable' },
  STORAGE_FULL: { status: 503, title: 'Storage full: the disk is full, nothing was written; retry after Retry-After seconds' },
  READ_MODEL_UNAVAILABLE: { status: 503, title: 'The read model is unavailable (deleted, corrupt or being rebuilt); commands still work' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, ErrorEntry>;

export type ApiErrorCode = OrderErrorCode | keyof typeof apiErrors;

export const errorRegistry: Readonly<Record<ApiErrorCode, ErrorEntry>> = { ...domainErrors, ...apiErrors };

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorRegistry, code);
}

/** An error raised by the HTTP layer itself, answered as problem+json with its registry status. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message ?? errorRegistry[code].title);
    this.name = 'ApiError';
  }
}
