// vitest globalSetup: compiles src/ and projections/ once per test run, as `npm run build` does
// (tsc, tsconfig.build.json), into a directory of this run only, and points the `orders` children
// the tests start at it (ORDERS_DIST_DIR, read by bin/orders.js). A child then loads plain
// JavaScript instead of the sources through tsx (seconds of CPU per start), and never a stale
// dist/: the directory is built from the sources as they are when the run starts, and removed after.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Inside the repository's node_modules, so that the compiled files resolve the packages (and
// src/cli/main.js finds package.json above it) just as from dist/.
const buildsDir = join(repoRoot, 'node_modules', '.cache', 'order-store-test-builds');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function setup(): () => void {
  mkdirSync(buildsDir, { recursive: true });
  // Builds of runs that ended without their teardown (killed): their vitest process is gone.
  for (const name of readdirSync(buildsDir)) {
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) rmSync(join(buildsDir, name), { recursive: true, force: true });
  }
  const outDir = mkdtempSync(join(buildsDir, `run-${process.pid}-`));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // --noCheck: the same compiler and settings as `npm run build`, without the type check
  // (`npm run typecheck` does that); it emits the same JavaScript.
  const result = spawnSync(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir, '--noCheck'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    rmSync(outDir, { recursive: true, force: true });
    throw new Error(`compiling the sources for the test run failed (tsc exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  }
  process.env.ORDERS_DIST_DIR = outDir;
  return () => {
    rmSync(outDir, { recursive: true, force: true });
  };
}
