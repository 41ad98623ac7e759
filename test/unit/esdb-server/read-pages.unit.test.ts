import { describe, expect, it } from 'vitest';
import type { ResolvedEvent } from '../../../src/esdb-server/log/types.js';
import { PageSizer, READ_PAGE_BYTES, READ_PAGE_SIZE } from '../../../src/esdb-server/grpc/read.js';

const events = (count: number, bytes: number): ResolvedEvent[] =>
  Array.from({ length: count }, (_, position) => ({ event: { data: new Uint8Array(bytes), metadata: new Uint8Array(0) }, position }) as unknown as ResolvedEvent);

describe("a read's pages", () => {
  it('hold at most READ_PAGE_BYTES of large events once their size is known, and a small first page', () => {
    const pages = new PageSizer();
    const first = pages.next();
    expect(first).toBeLessThan(READ_PAGE_SIZE);
    pages.read(events(first, 56 * 1024));
    const next = pages.next();
    expect(next).toBeGreaterThan(1);
    expect(next * 56 * 1024).toBeLessThanOrEqual(READ_PAGE_BYTES);
  });

  it('stay READ_PAGE_SIZE events of small events, within the limit asked for', () => {
    const pages = new PageSizer();
    pages.read(events(10, 200));
    expect(pages.next()).toBe(READ_PAGE_SIZE);
    expect(pages.next(7)).toBe(7);
  });

  it('read one event at a time when one event is larger than a page', () => {
    const pages = new PageSizer();
    pages.read(events(2, READ_PAGE_BYTES * 2));
    expect(pages.next()).toBe(1);
  });
});
