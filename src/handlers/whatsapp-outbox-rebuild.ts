// Rebuilds the outbox view from the ledger streams: one read of `$all` keeping the `whatsapp-`
// streams (the 6.x client's readAll takes no server-side filter), each stream folded
// by the decider's evolve and written with its revision. Rows already showing a later revision
// (a writer ran meanwhile) stay; rows from before the ledger are kept.
import { FORWARDS, START, type EventStoreDBClient } from '@eventstore/db-client';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { evolve, initialState, type WhatsAppMessageState } from './whatsapp-ledger.js';
import { parseWhatsAppEvent, WHATSAPP_STREAM_CATEGORY } from './whatsapp-ledger-events.js';
import { ensureOutboxSchema, markOutboxViewBuilt, outboxViewBuilt, writeOutboxRow } from './whatsapp-outbox.js';

export interface OutboxRebuild {
  streams: number;
  events: number;
}

export async function rebuildOutboxView(client: EventStoreDBClient, store: ReadModelStore, signal?: AbortSignal): Promise<OutboxRebuild> {
  const messages = new Map<string, { state: WhatsAppMessageState; revision: bigint }>();
  let events = 0;
  const reading = client.readAll({ direction: FORWARDS, fromPosition: START, resolveLinkTos: false });
  for await (const resolved of reading) {
    const recorded = resolved.event;
    if (!recorded || !recorded.streamId.startsWith(`${WHATSAPP_STREAM_CATEGORY}-`)) continue;
    signal?.throwIfAborted();
    events++;
    const entry = messages.get(recorded.streamId) ?? { state: initialState, revision: -1n };
    const event = parseWhatsAppEvent(recorded.type, recorded.data);
    messages.set(recorded.streamId, { state: event ? evolve(entry.state, event) : entry.state, revision: recorded.revision });
  }
  await ensureOutboxSchema(store);
  // Written oldest stream first, so the view's ids follow the order messages were made in.
  await store.transaction(async (tx) => {
    for (const { state, revision } of messages.values()) if (state) await writeOutboxRow(tx, state, revision);
    await markOutboxViewBuilt(tx, messages.size, new Date());
  });
  return { streams: messages.size, events };
}

const building = new WeakMap<object, Promise<unknown>>();

/**
 * Rebuilds the view once on a read-model file that never had it built (a new file, or the one
 * `orders replay` made after the old one was lost): the handler calls it before its first write.
 */
export async function ensureOutboxViewBuilt(client: EventStoreDBClient, store: ReadModelStore): Promise<void> {
  await ensureOutboxSchema(store);
  if (await outboxViewBuilt(store)) return;
  let pending = building.get(store);
  if (!pending) {
    pending = rebuildOutboxView(client, store).finally(() => building.delete(store));
    building.set(store, pending);
  }
  await pending;
}
