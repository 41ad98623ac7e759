// The ledger's claim against a real store: workers racing for one message (on any hosts: they
// share nothing but the event store) append exactly one attempt between them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whatsappStreamName } from '../../../src/handlers/whatsapp-ledger-events.js';
import { decideOnLedger, loadMessage } from '../../../src/handlers/whatsapp-ledger-store.js';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';

describe('the WhatsApp ledger in the event store', () => {
  let store: TestEventStore;
  beforeAll(async () => {
    store = await startTestEventStore();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('lets exactly one of several racing workers claim the first attempt, and the others send nothing', async () => {
    const messageId = randomUUID();
    const stream = whatsappStreamName('tenant-a', messageId);
    const draft = { tenantId: 'tenant-a', orderId: 'o-1', messageId, message: statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId: 'o-1' })! };
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, worker) =>
        decideOnLedger(store.client, stream, { type: 'StartSend', draft, at: new Date() }, { actor: `worker-${worker}`, correlationId: 'corr-1', causationId: messageId }, { assumeNew: true }),
      ),
    );
    const winners = claims.filter((claim) => claim.appended.some((event) => event.type === 'whatsapp.send_started'));
    expect(winners).toHaveLength(1);

    const types: string[] = [];
    const metadata: unknown[] = [];
    for await (const resolved of store.client.readStream(stream)) {
      types.push(resolved.event!.type);
      metadata.push(resolved.event!.metadata);
    }
    // The losers found the attempt in flight: at most they marked it uncertain, never a second start.
    expect(types.filter((type) => type === 'whatsapp.send_started')).toHaveLength(1);
    expect(types[0]).toBe('whatsapp.send_started');
    expect(new Set(types.slice(1))).toEqual(new Set(types.length > 1 ? ['whatsapp.uncertain'] : []));
    expect(metadata[0]).toMatchObject({ $correlationId: 'corr-1', $causationId: messageId, tenantId: 'tenant-a' });
    expect((await loadMessage(store.client, stream)).state).toMatchObject({ attempts: 1 });
  });
});
