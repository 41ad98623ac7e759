// The unhandled-rejection guard in a real Node process: a gRPC stream error the client left
// unhandled lets the process carry on; any other unhandled rejection still ends it with exit 1.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The build of the sources made for this test run (test/helpers/global-build.ts) when there is
// one: plain Node starts it without tsx's cost; else the sources through tsx.
const build = process.env.ORDERS_DIST_DIR;
const guard = build ? join(build, 'src', 'eventstore', 'client-rejections.js') : fileURLToPath(new URL('../../../src/eventstore/client-rejections.ts', import.meta.url));

function runWithGuard(rejection: string) {
  const script = `
    import pino from 'pino';
    const { guardClientRejections } = await import(${JSON.stringify(guard)});
    guardClientRejections(pino({ level: 'warn' }));
    ${rejection};
    setTimeout(() => { console.log('still running'); }, 100);
  `;
  return spawnSync(process.execPath, [...(build ? [] : ['--import', 'tsx']), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
}

describe('guardClientRejections', () => {
  it('lets a client stream error that nobody handled go, with one warning', () => {
    const result = runWithGuard(
      `Promise.reject(Object.assign(new Error('1 CANCELLED: Cancelled on client'), { code: 1, details: 'Cancelled on client', metadata: {} }))`,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('still running');
    expect(result.stdout).toContain('a queued write of an ended call was rejected');
  });

  it('still ends the process with exit 1 on any other unhandled rejection', () => {
    const result = runWithGuard(`Promise.reject(new Error('a bug'))`);
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('still running');
    expect(result.stdout).toContain('unhandled promise rejection');
  });
});
