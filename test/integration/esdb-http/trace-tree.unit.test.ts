// The trace page's causation tree, alone: who hangs under whom, gaps, and odd input (a cause
// outside the trace, a cycle, a very deep chain) drawn without losing an event.
import { describe, expect, it } from 'vitest';
import { buildTraceRows, type TraceRow } from '../../../src/esdb-server/http/trace-tree.js';

const event = (id: string, causationId: string | undefined, createdMs: number) => ({ id, causationId, createdMs });
type Input = ReturnType<typeof event>;
const shape = (rows: TraceRow<Input>[]) => rows.map((row) => (row.kind === 'cause' ? `cause ${row.causeId}` : `${'  '.repeat(row.depth)}${row.event.id}`));

describe('the causation tree of a trace', () => {
  it('hangs events under the event they name as cause, and groups those caused from outside under one cause row', () => {
    const rows = buildTraceRows([
      event('created', 'cmd-1', 1_000),
      event('notify-1', 'created', 1_040),
      event('paid', 'cmd-2', 2_000),
      event('status', 'cmd-2', 2_000),
      event('notify-2', 'paid', 2_300),
      event('whatsapp', 'notify-2', 2_310),
    ]);
    expect(shape(rows)).toEqual(['cause cmd-1', '  created', '    notify-1', 'cause cmd-2', '  paid', '    notify-2', '      whatsapp', '  status']);
    const byId = new Map(rows.flatMap((row) => (row.kind === 'event' ? [[row.event.id, row] as const] : [])));
    expect(byId.get('notify-1')).toMatchObject({ parentId: 'created', gapMs: 40, offsetMs: 40 });
    expect(byId.get('whatsapp')).toMatchObject({ parentId: 'notify-2', gapMs: 10, offsetMs: 1_310 });
    expect(byId.get('created')).toMatchObject({ parentId: undefined, gapMs: undefined });
    expect(rows.every((row) => row.annotations.length === 0)).toBe(true);
  });

  it('puts events without a cause at the top, and hangs a child under a parent stored after it', () => {
    expect(shape(buildTraceRows([event('child', 'parent', 5), event('parent', undefined, 1), event('self', 'self', 2)]))).toEqual(['parent', '  child', 'self']);
  });

  it('shows every event of a causation cycle once', () => {
    const rows = buildTraceRows([event('a', 'b', 1), event('b', 'a', 2)]);
    expect(rows.filter((row) => row.kind === 'event').map((row) => (row.kind === 'event' ? row.event.id : '')).sort()).toEqual(['a', 'b']);
  });

  it('draws a chain of 20,000 events without running out of stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => event(`e${i}`, i === 0 ? undefined : `e${i - 1}`, i));
    const rows = buildTraceRows(chain);
    expect(rows).toHaveLength(20_000);
    expect(rows[19_999]).toMatchObject({ depth: 19_999, gapMs: 1 });
  });
});
