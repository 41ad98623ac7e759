#!/usr/bin/env node
// The `orders` command: the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs
// through `prepare`). ORDERS_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (a
// dev dependency): the tests set it, so a child they spawn never runs a stale dist/.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (process.env.ORDERS_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
  if (!existsSync(compiled)) {
    console.error('orders: the compiled CLI (dist/) is missing: run `npm run build` (npm ci does it)');
    process.exit(1);
  }
  await import(compiled.href);
}
