// The store's files and port belong to its owner. Its data directory is 0700 and every file the
// store writes 0600 (the SQLite files, the lock, the certificates, the password), so another local
// user (here `nobody`: these machines run the tests as root) can read none of them, and through
// the port, without credentials, it can read and change nothing.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonEvent, persistentSubscriptionToStreamSettingsFromDefaults, StreamNotFoundError } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { collect } from '../esdb/support.js';

const NOBODY = 65_534;
const intruder = fileURLToPath(new URL('./fixtures/intruder.mjs', import.meta.url));

/** Mode bits of every file in `dir`, by name. */
function modes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, (statSync(join(dir, name)).mode & 0o777).toString(8)]));
}

describe('the data directory of a secured store', () => {
  let root: string;
  let dataDir: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'esdb-perms-'));
    chmodSync(root, 0o755);
    dataDir = join(root, 'data');
    // As `mkdir data` would leave it: readable by everyone.
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is 0700 and every file the store writes is 0600, while it runs and after it stopped', async () => {
    const store = await startTestEventStore({ dataDir, secure: true });
    try {
      await store.client.appendToStream('order-perms', jsonEvent({ type: 'order.noted', data: { phone: '+14155550100' } }));
      await store.client.createPersistentSubscriptionToStream('order-perms', 'perms-group', persistentSubscriptionToStreamSettingsFromDefaults());
      expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
      const running = modes(dataDir);
      expect(Object.keys(running)).toEqual(expect.arrayContaining(['eventstore.db', 'eventstore.db-wal', 'eventstore.db.lock', 'eventstore.db.lock.pid', 'eventstore-ca.crt', 'eventstore-ca.key', 'eventstore-node.crt', 'eventstore-node.key', 'eventstore-admin-password']));
      for (const [name, mode] of Object.entries(running)) expect(mode, name).toBe('600');
    } finally {
      await store.close();
    }
    for (const [name, mode] of Object.entries(modes(dataDir))) expect(mode, name).toBe('600');
  });

  it('takes back what an older version left readable (0644 files in a 0755 directory) when it starts', async () => {
    chmodSync(dataDir, 0o755);
    for (const name of readdirSync(dataDir)) chmodSync(join(dataDir, name), 0o644);
    const store = await startTestEventStore({ dataDir, secure: true });
    try {
      expect(await collect(store.client.readStream('order-perms'))).toHaveLength(1);
      expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
      for (const [name, mode] of Object.entries(modes(dataDir))) expect(mode, name).toBe('600');
    } finally {
      await store.close();
    }
  });
});

describe('an unprivileged local user (nobody) against a running secured store', () => {
  let root: string;
  let dataDir: string;
  let store: TestEventStore;
  let caCopy: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'esdb-nobody-'));
    chmodSync(root, 0o755);
    dataDir = join(root, 'data');
    store = await startTestEventStore({ dataDir, secure: true });
    await store.client.appendToStream('order-victim', jsonEvent({ type: 'order.created', data: { phone: '+14155550100' } }));
    await store.client.createPersistentSubscriptionToStream('order-victim', 'victim-group', persistentSubscriptionToStreamSettingsFromDefaults());
    // A read model the service wrote with a permissive mode: the directory still guards it.
    writeFileSync(join(dataDir, 'readmodels.db'), 'tenant data', { mode: 0o644 });
    chmodSync(join(dataDir, 'readmodels.db'), 0o644);
    // As if the CA certificate had leaked (it is not a secret): TLS then works, credentials do not.
    caCopy = join(root, 'leaked-ca.crt');
    copyFileSync(store.server.credentials!.caFile, caCopy);
    chmodSync(caCopy, 0o644);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('can read none of its files and neither read nor change anything through its port', async () => {
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [intruder, dataDir, String(store.server.port)],
        { uid: NOBODY, gid: NOBODY, cwd: root, env: { PATH: process.env.PATH ?? '/usr/bin', CA_COPY: caCopy }, timeout: 60_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const outcome = JSON.parse(output.trim().split('\n').pop()!) as Record<string, { ok: boolean; code?: string | number; name?: string; result?: unknown }>;

    for (const file of ['listDataDir', 'readEventStore', 'readPassword', 'readCaKey', 'readReadModels']) {
      expect(outcome[file], file).toMatchObject({ ok: false, code: 'EACCES' });
    }
    for (const call of ['read', 'append', 'deleteGroup']) {
      // Plaintext never gets through: the store speaks gRPC only over TLS (UNAVAILABLE, code 14).
      const plaintext = outcome[`plaintext.${call}`]!;
      expect(plaintext.ok, `plaintext.${call}`).toBe(false);
      expect(plaintext.name === 'UnavailableError' || plaintext.code === 14, `plaintext.${call}: ${JSON.stringify(plaintext)}`).toBe(true);
      expect(outcome[`tlsNoCredentials.${call}`], `tlsNoCredentials.${call}`).toMatchObject({ ok: false, name: 'AccessDeniedError' });
      expect(outcome[`tlsGuessedPassword.${call}`], `tlsGuessedPassword.${call}`).toMatchObject({ ok: false, name: 'AccessDeniedError' });
    }
    for (const path of ['/ui/streams', '/stats', '/ui/subscriptions/order-victim/victim-group/delete']) {
      expect(outcome[`http ${path}`], path).toEqual({ ok: true, result: 401 });
    }

    // Nothing changed: no forged stream, the group still there.
    await expect(collect(store.client.readStream('order-forged'))).rejects.toBeInstanceOf(StreamNotFoundError);
    expect((await store.client.listPersistentSubscriptionsToStream('order-victim')).map((group) => group.groupName)).toEqual(['victim-group']);
  }, 90_000);
});
