import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // `orders` children spawned by tests run the TypeScript sources (bin/orders.js), never a stale dist/.
    env: { ORDERS_FROM_SOURCE: '1' },
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
