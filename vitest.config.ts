import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // `orders` children spawned by tests run a build of the sources compiled for this run
    // (ORDERS_DIST_DIR, set by the global setup), else the sources through tsx: never a stale dist/.
    globalSetup: ['test/helpers/global-build.ts'],
    env: { ORDERS_FROM_SOURCE: '1' },
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
