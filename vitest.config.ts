import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: two files at a time on 2 cores (and a machine busy with other work) slow each test.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test files wait on child processes and servers rather than compute: on 2 cores, two
    // files at a time (vitest's default there is 1).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // `orders` children spawned by tests run a build of the sources compiled for this run
    // (ORDERS_DIST_DIR, set by the global setup), else the sources through tsx: never a stale dist/.
    globalSetup: ['test/helpers/global-build.ts'],
    env: { ORDERS_FROM_SOURCE: '1' },
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
