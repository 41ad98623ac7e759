// emmett-sqlite runs on the `sqlite3` package, whose install script would download a prebuilt
// binary; this project does not run it (package.json allowScripts). The binding is built here
// instead, once, from the SQLite sources inside the npm package, against the headers of the
// running Node (no download): about two minutes on two cores.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export async function ensureSqlite3Binding(): Promise<void> {
  const packageDir = dirname(require.resolve('sqlite3/package.json'));
  if (existsSync(join(packageDir, 'build', 'Release', 'node_sqlite3.node'))) return;
  const nodeDir = dirname(dirname(process.execPath));
  if (!existsSync(join(nodeDir, 'include', 'node', 'node.h'))) {
    throw new Error(`sqlite3 has no native binding and ${nodeDir}/include/node has no Node headers to build it with`);
  }
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  console.error('emmett peer: building the sqlite3 binding from its bundled sources (once)...');
  const built = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`], { cwd: packageDir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) throw new Error(`building the sqlite3 binding failed (exit ${built.status ?? built.signal})`);
}
