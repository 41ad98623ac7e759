// What a secured store makes on its first start is kept: a restart on the same data directory
// serves the same CA and admin password, so clients and the CLI keep connecting with what they
// had, and a node certificate that no longer fits (another host) is made again by the same CA.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionStringForDataDir, startEventStoreServer } from '../../../src/esdb-server/index.js';
import { collect } from '../esdb/support.js';

const dataDir = mkdtempSync(join(tmpdir(), 'esdb-kept-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const file = (name: string) => readFileSync(join(dataDir, name), 'utf8');

describe('the secrets of a secured store', () => {
  it('are made once and served again after a restart: the first connection string still works', async () => {
    const first = await startEventStoreServer({ dataDir, port: 0 });
    const firstCa = file('eventstore-ca.crt');
    const firstNode = file('eventstore-node.crt');
    const password = first.credentials!.password;
    expect(file('eventstore-admin-password').trim()).toBe(password);
    const client = EventStoreDBClient.connectionString(first.connectionString);
    await client.appendToStream('order-kept', jsonEvent({ type: 'order.noted', data: {} }));
    await client.dispose();
    await first.close();

    const second = await startEventStoreServer({ dataDir, port: 0 });
    try {
      expect(file('eventstore-ca.crt')).toBe(firstCa);
      expect(file('eventstore-node.crt')).toBe(firstNode);
      expect(second.credentials!.password).toBe(password);
      // What the CLI builds from DATA_DIR alone reaches the running store.
      const fromDataDir = connectionStringForDataDir({ dataDir, port: second.port });
      expect(fromDataDir).toBe(second.connectionString);
      const again = EventStoreDBClient.connectionString(fromDataDir!);
      expect(await collect(again.readStream('order-kept'))).toHaveLength(1);
      await again.dispose();
    } finally {
      await second.close();
    }
  });

  it('makes the node certificate again, from the same CA, when the kept one cannot be served', async () => {
    const ca = file('eventstore-ca.crt');
    const node = file('eventstore-node.crt');
    const server = await startEventStoreServer({ dataDir, port: 0, host: 'localhost' });
    await server.close();
    // 'localhost' is always named: nothing to make again.
    expect(file('eventstore-node.crt')).toBe(node);
    writeFileSync(join(dataDir, 'eventstore-node.crt'), 'not a certificate');
    const repaired = await startEventStoreServer({ dataDir, port: 0 });
    try {
      expect(file('eventstore-ca.crt')).toBe(ca);
      expect(file('eventstore-node.crt')).toContain('BEGIN CERTIFICATE');
      const client = EventStoreDBClient.connectionString(repaired.connectionString);
      expect(await collect(client.readStream('order-kept'))).toHaveLength(1);
      await client.dispose();
    } finally {
      await repaired.close();
    }
  });
});
