// Runs inside the embedded store's worker thread: starts the server, reports its address, and
// closes it when told to.
import { parentPort, workerData } from 'node:worker_threads';
import { startEventStoreServer, type EventStoreServerOptions } from '../esdb-server/index.js';
import { idleGcEnabled, startIdleGc } from '../observability/idle-gc.js';

const port = parentPort;
if (!port) throw new Error('embedded-store-worker must run in a worker thread');

try {
  const server = await startEventStoreServer(workerData as EventStoreServerOptions);
  // The pages and event data a busy spell read are this thread's ArrayBuffers: freed by its own GC.
  const idleGc = idleGcEnabled() ? startIdleGc() : undefined;
  port.on('message', (message: { type: string }) => {
    if (message.type !== 'close') return;
    idleGc?.stop();
    void server.close().then(
      () => port.postMessage({ type: 'closed' }),
      (error: unknown) => port.postMessage({ type: 'closed', error: String(error) }),
    );
  });
  port.postMessage({ type: 'started', connectionString: server.connectionString, port: server.port, uiUrl: server.uiUrl, credentials: server.credentials, localEndpoint: server.localEndpoint });
} catch (error) {
  port.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
