// How far V8 lets a heap's old generation grow before its next full collection (#11). V8 sets the
// limit after each full GC at the size it kept times a growing factor of its own choosing (up to
// 4x); under overload the API's main heap reached 3-4x its live size (old generation ~150 MB
// over ~47 MB live, heap 210 MB), almost all of it garbage promoted by requests and deliveries
// that outlived two scavenges, and the process's RSS crossed 400 MB with it. A fixed factor of
// 1.5 held the same load's main heap at 115-125 MB (`npm run bench -- overload`). The flag is the
// process's: it holds for every thread's isolate (the embedded store's too), read by V8 each time
// it sets a limit, so setting it once at start is enough.
import { setFlagsFromString } from 'node:v8';

/** From the next full collection on, each heap's limit is (1 + percent / 100) x what it kept; 0 leaves V8's own factor. */
export function limitHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growing percent must be a whole number, 0 or more (got ${percent})`);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
