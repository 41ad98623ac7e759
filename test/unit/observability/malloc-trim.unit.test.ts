import { describe, expect, it } from 'vitest';
import { collect, fullGc } from '../../../src/observability/idle-gc.js';
import { mallocTrim } from '../../../src/observability/malloc-trim.js';

const MB = 2 ** 20;

describe('malloc_trim after the idle GC', () => {
  // These machines (and the Docker image) run on glibc: there the call must exist and work.
  it('gives back to the OS what a collection freed and glibc kept in its arenas', () => {
    const trim = mallocTrim();
    expect(trim, 'malloc_trim through koffi on glibc').toBeTypeOf('function');
    const gc = fullGc();
    // ~160 MB in blocks below glibc's mmap threshold: they come from its arenas, and stay there once freed.
    const blocks: Buffer[] = [];
    for (let i = 0; i < 1_600; i++) blocks.push(Buffer.alloc(100_000, i & 0xff));
    const held = process.memoryUsage.rss();
    blocks.length = 0;
    // V8 frees dead Buffers' memory on a background thread after a collection: collect has it freed within.
    const figures = collect(gc, trim);
    expect(figures.trimmed).toBe(true);
    expect(held - process.memoryUsage.rss(), 'resident memory given back').toBeGreaterThan(80 * MB);
  });
});
