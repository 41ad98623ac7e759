// Amounts are whole minor units (cents). Every amount a command may put into an event is bounded
// well inside 2^53, so one order's figures stay exact as JSON numbers and as JavaScript numbers;
// sums over many orders are another matter (src/readmodels/exact-sums.ts).

/** Largest total of one order, of one line (unitPrice x quantity), of one payment or refund: 10^12 minor units. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** Sum of quantity * unitPrice (exact: every term and the sum are bounded by the callers). */
export function lineTotal(item: { quantity: number; unitPrice: number }): number {
  return item.quantity * item.unitPrice;
}

/** A decimal string of an exact sum (what the API answers for sums that may pass 2^53). */
export function decimal(amount: bigint | number): string {
  return BigInt(amount).toString();
}
