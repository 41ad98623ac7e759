// Opaque keyset cursors for paginated read-model queries: base64url JSON of the last row's
// sort key, so a page boundary stays stable while new rows arrive.

export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor() {
    super('cursor is not one this service issued');
    this.name = 'InvalidCursorError';
  }
}

export interface OrderCursor {
  createdAt: string;
  orderId: string;
}

export function encodeCursor(cursor: OrderCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.orderId]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): OrderCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    // A NUL is in no key this service wrote (PostgreSQL text cannot even hold one: it would fail the query).
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' && !`${parsed[0]}${parsed[1]}`.includes('\u0000')) {
      return { createdAt: parsed[0], orderId: parsed[1] };
    }
  } catch {
    // fall through: not ours
  }
  throw new InvalidCursorError();
}
