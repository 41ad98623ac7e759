// glibc's malloc keeps what a busy spell freed in its arenas, to hand it out again: after a burst
// of large orders the process held 100-200 MB more than its idle size for good, memory nothing
// used (#11: `malloc_trim(0)` through gdb gave it back). `malloc_trim` is not reachable from
// JavaScript, so it is called through koffi (a maintained FFI with prebuilt binaries from the npm
// registry) where the process runs on glibc; anywhere else (musl, macOS, koffi missing) there is
// nothing to call and nothing is done. One call walks every arena of the process and returns
// their free pages: milliseconds, made only by the idle GC (idle-gc.ts), after its collection.
import { createRequire } from 'node:module';

type Trim = () => boolean;

let loaded: Trim | null | undefined;

/** `malloc_trim(0)`, or undefined where the C library has none to call. */
export function mallocTrim(): Trim | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

function load(): Trim | null {
  if (process.platform !== 'linux') return null;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
    return () => trim(0) === 1;
  } catch {
    return null;
  }
}
