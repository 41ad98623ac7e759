// vitest globalSetup: compiles src/ and projections/ as `npm run build` does (tsc,
// tsconfig.build.json) and points the `orders` children the tests start at that build
// (ORDERS_DIST_DIR, read by bin/orders.js). A child then loads plain JavaScript instead of the
// sources through tsx (seconds of CPU per start), and never a stale dist/: the build is made from
// the sources as they are when the run starts, and kept under a hash of their content, so a later
// run of the same sources (a single test file, again) reuses it instead of compiling again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Inside the repository's node_modules, so that the compiled files resolve the packages (and
// src/cli/main.js finds package.json above it) just as from dist/.
const buildsDir = join(repoRoot, 'node_modules', '.cache', 'order-store-test-builds');
const require = createRequire(import.meta.url);
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the build is made of: every file of src/ and projections/, the tsconfigs, the compiler. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  const files = ['src', 'projections'].flatMap((dir) =>
    readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file)),
  );
  for (const file of [...files.sort(), 'tsconfig.json', 'tsconfig.build.json']) {
    const path = join(repoRoot, file);
    if (!statSync(path).isFile()) continue;
    hash.update(`${file}\0`).update(readFileSync(path)).update('\0');
  }
  hash.update(String((require('typescript/package.json') as { version: string }).version));
  return hash.digest('hex').slice(0, 16);
}

function compile(outDir: string): void {
  // --noCheck: the same compiler and settings as `npm run build`, without the type check
  // (`npm run typecheck` does that); the JavaScript it emits is the same.
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir, '--noCheck'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    rmSync(outDir, { recursive: true, force: true });
    throw new Error(`compiling the sources for the test run failed (tsc exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  }
}

export function setup(): (() => void) | undefined {
  mkdirSync(buildsDir, { recursive: true });
  // Builds no run has used for a day (a run touches the build it uses).
  for (const name of readdirSync(buildsDir)) {
    const path = join(buildsDir, name);
    if (Date.now() - statSync(path).mtimeMs > DAY_MS) rmSync(path, { recursive: true, force: true });
  }
  const key = sourcesHash();
  const kept = join(buildsDir, key);
  if (existsSync(join(kept, 'src', 'cli', 'main.js'))) {
    const now = new Date();
    utimesSync(kept, now, now);
    process.env.ORDERS_DIST_DIR = kept;
    return undefined;
  }
  const outDir = mkdtempSync(join(buildsDir, 'building-'));
  compile(outDir);
  if (sourcesHash() !== key) {
    // A source changed while tsc ran: this build is of neither version; it serves this run only.
    process.env.ORDERS_DIST_DIR = outDir;
    return () => rmSync(outDir, { recursive: true, force: true });
  }
  try {
    renameSync(outDir, kept);
  } catch (error) {
    // Another run kept the same build first: use that one.
    if (!existsSync(join(kept, 'src', 'cli', 'main.js'))) throw error;
    rmSync(outDir, { recursive: true, force: true });
  }
  process.env.ORDERS_DIST_DIR = kept;
  return undefined;
}
