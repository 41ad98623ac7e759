import { describe, expect, it } from 'vitest';
import { reactionEventId, reactionMetadata } from '../../../src/subscriptions/emit.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';

const cause = {
  type: 'order.created',
  id: '6f1a2b3c-0000-4000-8000-000000000001',
  streamId: 'order-1',
  revision: 0,
  position: 10,
  recordedAt: new Date(),
  correlationId: 'conversation-9',
  metadata: { $correlationId: 'conversation-9', $causationId: 'cmd-1', tenantId: 't', actor: 'api-key:x', traceparent: '00-abc-def-01' },
  data: { tenantId: 't', orderId: '1' },
} as unknown as EventEnvelope;

describe('events emitted in reaction to another', () => {
  it('name the causing event as $causationId and keep its $correlationId and trace', () => {
    expect(reactionMetadata('notification', cause)).toEqual({
      $correlationId: 'conversation-9',
      $causationId: cause.id,
      tenantId: 't',
      actor: 'handler:notification',
      traceparent: '00-abc-def-01',
    });
  });

  it('get ids derived from handler, cause and position, so a redelivery re-sends the same ids', () => {
    const id = reactionEventId('notification', cause.id, 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(reactionEventId('notification', cause.id, 0)).toBe(id);
    expect(reactionEventId('notification', cause.id, 1)).not.toBe(id);
    expect(reactionEventId('whatsapp', cause.id, 0)).not.toBe(id);
  });
});
