import { describe, expect, it } from 'vitest';
import { applyToProjection, lastAppliedRevision, OutOfOrderEventError, resetProjection } from '../../../src/readmodels/apply-projection.js';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { recordHandled, wasHandled } from '../../../src/readmodels/handled-events.js';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../../src/readmodels/cursor.js';
import { paidAndShipped } from '../projections/envelopes.js';
import { openTestReadModels } from '../../helpers/read-models.js';

const counting = defineProjection({
  name: 'counting',
  handles: ['order.created', 'order.status_changed'],
  schema: 'CREATE TABLE IF NOT EXISTS counted (stream_id TEXT NOT NULL, type TEXT NOT NULL)',
  async apply(event, tx) {
    if (event.type === 'order.status_changed' && event.data.newStatus === 'SHIPPED' && event.data.reason === 'explode') throw new Error('boom');
    await tx.run('INSERT INTO counted (stream_id, type) VALUES (?, ?)', event.streamId, event.type);
  },
  async reset(tx) {
    await tx.run('DELETE FROM counted');
  },
});

async function fresh() {
  const db = await openTestReadModels();
  await resetProjection(db, counting);
  return db;
}

describe('applying an event behind the per-order revision guard', () => {
  it('applies the next revision, skips a redelivered one and refuses an early one', async () => {
    const db = await fresh();
    const [created, payment, paid] = paidAndShipped('o-1');
    expect(await applyToProjection(db, counting, created!, created)).toBe('applied');
    expect(await applyToProjection(db, counting, created!, created)).toBe('duplicate');
    await expect(applyToProjection(db, counting, paid!, paid)).rejects.toThrow(OutOfOrderEventError);
    // An event type the projection does not handle still takes its revision.
    expect(await applyToProjection(db, counting, payment!, payment)).toBe('skipped');
    expect(await lastAppliedRevision(db, 'counting', 'order-o-1')).toBe(1);
    expect(await db.all('SELECT type FROM counted')).toEqual([{ type: 'order.created' }]);
  });

  it('lets an event of a type no one knows advance the revision', async () => {
    const db = await fresh();
    const [created, payment] = paidAndShipped('o-1');
    await applyToProjection(db, counting, created!, created);
    expect(await applyToProjection(db, counting, { ...payment!, type: 'order.gift_wrapped' }, undefined)).toBe('skipped');
    expect(await lastAppliedRevision(db, 'counting', 'order-o-1')).toBe(1);
  });

  it('keeps neither rows nor revision when apply throws', async () => {
    const db = await fresh();
    const events = paidAndShipped('o-1');
    for (const event of events.slice(0, 5)) await applyToProjection(db, counting, event, event);
    const last = events[5]!;
    const exploding = { ...last, data: { ...last.data, reason: 'explode' } } as typeof last;
    await expect(applyToProjection(db, counting, exploding, exploding)).rejects.toThrow('boom');
    expect(await lastAppliedRevision(db, 'counting', 'order-o-1')).toBe(4);
    expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM counted'))?.n).toBe(2);
  });
});

describe('idempotency records and cursors', () => {
  it('records a handled event once per handler', async () => {
    const db = await openTestReadModels();
    const at = new Date();
    expect(await db.transaction(async (tx) => await recordHandled(tx, 'a', 'e1', at))).toBe(true);
    expect(await db.transaction(async (tx) => await recordHandled(tx, 'a', 'e1', at))).toBe(false);
    expect(await wasHandled(db, 'a', 'e1')).toBe(true);
    expect(await wasHandled(db, 'b', 'e1')).toBe(false);
  });

  it('round-trips a cursor and refuses one it did not issue', async () => {
    const cursor = { createdAt: '2026-11-20T10:00:00.000Z', orderId: 'o-1' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(() => decodeCursor('eyJ4IjoxfQ')).toThrow(InvalidCursorError);
    expect(() => decodeCursor('%%%')).toThrow(InvalidCursorError);
  });
});
