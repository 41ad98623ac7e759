// The embedded event store on its own thread. SQLite commits are synchronous; on the API's
// thread every commit would stall HTTP work, so the store gets a thread (and a core) of its own.
// Clients still reach it over gRPC on loopback, exactly as they would a real EventStoreDB.
import { Worker } from 'node:worker_threads';
import type { EventStoreServer, EventStoreServerOptions } from '../esdb-server/index.js';

export interface EmbeddedEventStore {
  connectionString: string;
  port: number;
  /** The store's UI in a browser (same port as gRPC). */
  uiUrl: string | undefined;
  /** A secured store's admin credentials (and where they are kept); undefined when insecure. */
  credentials: EventStoreServer['credentials'];
  /** With `localSocket`: the store's local socket (`unix:<path>`), for this process's own client. */
  localEndpoint: string | undefined;
  close(): Promise<void>;
}

type Started = Pick<EmbeddedEventStore, 'connectionString' | 'port' | 'uiUrl' | 'credentials' | 'localEndpoint'>;

type WorkerMessage =
  | ({ type: 'started' } & Started)
  | { type: 'failed'; message: string }
  | { type: 'closed'; error?: string };

export async function startEmbeddedEventStore(options: EventStoreServerOptions, onCrash: (error: Error) => void = () => {}): Promise<EmbeddedEventStore> {
  const worker = new Worker(workerSource(), { eval: true, workerData: options });
  const listeners: { error?: (error: Error) => void; exit?: (code: number) => void; message?: (message: WorkerMessage) => void } = {};
  const started = await new Promise<Started>((resolve, reject) => {
    listeners.error = reject;
    listeners.exit = (code) => reject(new Error(`the embedded event store exited during start (code ${code})`));
    listeners.message = (message) => {
      if (message.type === 'started') resolve({ connectionString: message.connectionString, port: message.port, uiUrl: message.uiUrl, credentials: message.credentials, localEndpoint: message.localEndpoint });
      else reject(new Error(message.type === 'failed' ? message.message : 'the embedded event store did not start'));
    };
    worker.once('error', listeners.error).once('exit', listeners.exit).once('message', listeners.message);
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  // Only the start's own listeners: removeAllListeners() also drops the Worker's internal ones,
  // after which no later 'message' arrives (close then always waited out its 5 s timeout).
  worker.off('error', listeners.error!).off('exit', listeners.exit!).off('message', listeners.message!);
  let closing = false;
  worker.on('error', (error) => {
    if (!closing) onCrash(error);
  });

  let closed: Promise<void> | undefined;
  return {
    ...started,
    close() {
      closing = true;
      closed ??= new Promise<void>((resolve) => {
        // Let the server finish in-flight commits; terminate only if it does not answer.
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 5_000);
        worker.once('message', () => {
          clearTimeout(timer);
          void worker.terminate().then(() => resolve());
        });
        worker.postMessage({ type: 'close' });
      });
      return closed;
    },
  };
}

/**
 * The worker's bootstrap. Run from TypeScript sources (tsx), a worker does not inherit the
 * loader, so it registers tsx before importing its entry.
 */
function workerSource(): string {
  const entry = new URL(`./embedded-store-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
  if (!entry.endsWith('.ts')) return `import(${JSON.stringify(entry)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}
