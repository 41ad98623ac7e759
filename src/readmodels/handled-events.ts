// Idempotency records of handlers: which event ids a handler has already handled. Written in
// the same transaction as the handler's own rows, so "done" and "recorded" never disagree.
import type { ReadModelTx } from './read-model-store.js';

export async function wasHandled(tx: ReadModelTx, handler: string, eventId: string): Promise<boolean> {
  return (await tx.get('SELECT 1 AS one FROM handled_events WHERE handler = ? AND event_id = ?', handler, eventId)) !== undefined;
}

/** Returns false when the record already existed (the event was handled before). */
export async function recordHandled(tx: ReadModelTx, handler: string, eventId: string, at: Date): Promise<boolean> {
  const result = await tx.run(
    'INSERT INTO handled_events (handler, event_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    handler,
    eventId,
    at.toISOString(),
  );
  return result.changes === 1;
}
