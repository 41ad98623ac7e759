#!/usr/bin/env node
// The `orders` command: the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs
// through `prepare`). ORDERS_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (a
// dev dependency), and ORDERS_DIST_DIR=<dir> a build of them in <dir>: the tests set both (the
// directory is compiled for each test run), so a child they spawn never runs a stale dist/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { URL, pathToFileURL } from 'node:url';

if (process.env.ORDERS_DIST_DIR) {
  await import(pathToFileURL(join(process.env.ORDERS_DIST_DIR, 'src', 'cli', 'main.js')).href);
} else if (process.env.ORDERS_FROM_SOURCE === '1') {
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
