// The event log's writer thread: owns the one connection that writes, commits each group it is
// sent in one transaction and answers with the outcome once the transaction is durable.
import { parentPort, workerData } from 'node:worker_threads';
import { LogWriter, type Operation } from './log-writer.js';
import { openLogDatabase } from './sqlite-schema.js';
import type { WriterThreadData } from './writer-channel.js';

const port = parentPort;
if (!port) throw new Error('writer-thread must run in a worker thread');
const { file, synchronous } = workerData as WriterThreadData;
const db = openLogDatabase(file, synchronous);
const writer = new LogWriter(db);

port.on('message', (message: { id: number; operations: Operation[] } | { close: true }) => {
  if ('close' in message) {
    db.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ id: message.id, outcome: writer.commit(message.operations) });
  } catch (error) {
    // The SQLite code travels too: SQLITE_FULL becomes StorageFullError on the other side.
    const code = (error as { code?: unknown } | null)?.code;
    port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error), ...(typeof code === 'string' ? { code } : {}) });
  }
});
