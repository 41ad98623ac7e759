import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { jsonEvent } from '@eventstore/db-client';
import { DEFAULT_FLOW_CONTROL_WINDOWS } from '../../../src/esdb-server/grpc/flow-control.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { collect, eventually } from './support.js';

// What a client sees of the store's HTTP/2 windows: 64 KB (Node's default) made every large
// append wait for a window update the client reads on a later event-loop iteration (issue #11).
describe.each([
  { secure: false, name: 'an insecure store' },
  { secure: true, name: 'a secured store (TLS)' },
])('$name', ({ secure }) => {
  let store: TestEventStore;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    store = await startTestEventStore({ secure });
    const ca = store.server.credentials ? readFileSync(store.server.credentials.caFile) : undefined;
    session = connect(`${secure ? 'https' : 'http'}://localhost:${store.server.port}`, ca ? { ca } : {});
  });
  afterAll(async () => {
    session.destroy();
    await store.close();
  });

  it('lets each stream send its windowed bytes before a window update, far over one large event', async () => {
    const settings = await new Promise<{ initialWindowSize?: number }>((resolve) => session.once('remoteSettings', resolve));
    expect(settings.initialWindowSize).toBe(DEFAULT_FLOW_CONTROL_WINDOWS.streamBytes);
    expect(DEFAULT_FLOW_CONTROL_WINDOWS.streamBytes).toBeGreaterThan(10 * 75 * 1024);
  });

  it('lets the connection send as much in all before a window update', async () => {
    const window = await eventually(() => {
      const remote = session.state.remoteWindowSize ?? 0;
      return remote > 65_535 ? remote : undefined;
    });
    expect(window).toBe(DEFAULT_FLOW_CONTROL_WINDOWS.connectionBytes);
  });

  it('still takes and returns a large append whole', async () => {
    const data = { blob: 'x'.repeat(200_000) };
    await store.client.appendToStream('large-append', jsonEvent({ type: 't', data }));
    const [read] = await collect(store.client.readStream('large-append'));
    expect(read?.event?.data).toEqual(data);
  });
});
