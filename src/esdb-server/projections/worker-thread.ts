// A projection's worker thread: compiles its query in a sandbox and runs the events it is sent,
// one handler call at a time, bumping a shared counter before each so the server thread can
// tell a handler that runs too long (and terminate this thread) from one that is merely busy.
import { parentPort, workerData } from 'node:worker_threads';
import { ProjectionSandbox } from './sandbox.js';
import { PHASE_HANDLER, PHASE_IDLE, PHASE_OTHER, PROGRESS_PHASE, PROGRESS_SEQUENCE, type FromWorker, type ToWorker } from './wire.js';

const port = parentPort;
if (!port) throw new Error('projections/worker-thread must run in a worker thread');
const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);
const decoder = new TextDecoder();
let sandbox: ProjectionSandbox | undefined;

const reply = (message: FromWorker) => port.postMessage(message);
const mark = (phase: number) => {
  Atomics.add(progress, PROGRESS_SEQUENCE, 1);
  Atomics.store(progress, PROGRESS_PHASE, phase);
};

port.on('message', (message: ToWorker) => {
  mark(PHASE_OTHER);
  try {
    if (message.type === 'init') {
      try {
        sandbox = new ProjectionSandbox(message.name, message.query, message.emitEnabled, message.statesJson);
        reply({ type: 'ready', definition: sandbox.definition });
      } catch (error) {
        reply({ type: 'fault', reason: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    if (!sandbox) throw new Error('batch before init');
    for (const event of message.events) {
      const data = decoder.decode(event.data);
      const metadata = decoder.decode(event.metadata);
      mark(PHASE_HANDLER);
      const reason = sandbox.step({ ...event, data, metadata });
      if (reason !== '') {
        reply({ type: 'fault', reason });
        return;
      }
    }
    mark(PHASE_OTHER);
    const changes = sandbox.end();
    reply(changes.startsWith('E') ? { type: 'fault', reason: changes.slice(1) } : { type: 'done', changes });
  } catch (error) {
    reply({ type: 'fault', reason: error instanceof Error ? error.message : String(error) });
  } finally {
    mark(PHASE_IDLE);
  }
});
