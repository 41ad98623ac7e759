// The source of a projection's worker thread, as plain JavaScript run with `eval: true`: it needs
// only node:vm and node:worker_threads, so a thread starts in milliseconds (no TypeScript loader
// to boot per projection). It compiles the query in a node:vm context of its own (see
// prelude.ts) and runs the events it is sent, one handler call at a time, bumping a shared counter
// before each so the server thread can tell a handler that runs too long (and terminate this
// thread) from one that is merely busy.
//
// Inside the context: no require, no process, no timers, no network or file system, no eval /
// new Function / WebAssembly (code generation is off), and microtasks stay in the context's own
// queue so no callback runs after a handler returns. Only strings and numbers cross into it.
import { PRELUDE } from './prelude.js';
import { PHASE_HANDLER, PHASE_IDLE, PHASE_OTHER, PROGRESS_PHASE, PROGRESS_SEQUENCE } from './wire.js';

export function projectionWorkerSource(): string {
  return `
'use strict';
const vm = require('node:vm');
const { parentPort, workerData } = require('node:worker_threads');
const PRELUDE = ${JSON.stringify(PRELUDE)};
const progress = new Int32Array(workerData.progress);
const decoder = new TextDecoder();
let functions;

const reply = (message) => parentPort.postMessage(message);
const mark = (phase) => {
  Atomics.add(progress, ${PROGRESS_SEQUENCE}, 1);
  Atomics.store(progress, ${PROGRESS_PHASE}, phase);
};
const describe = (error) => (error && typeof error.message === 'string' ? error.message : String(error));

function compile(name, query, emitEnabled, statesJson) {
  const context = vm.createContext(Object.create(null), {
    name: 'projection ' + name,
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  new vm.Script(PRELUDE, { filename: 'prelude.js' }).runInContext(context);
  const fns = new vm.Script('({ configure: __configure, definition: __definition, step: __step, end: __end })').runInContext(context);
  fns.configure(name, emitEnabled, statesJson);
  let script;
  try {
    script = new vm.Script(query, { filename: name + '.js' });
  } catch (error) {
    throw new Error("Failed to compile the projection's query: " + describe(error));
  }
  script.runInContext(context);
  const definition = JSON.parse(fns.definition());
  if (!definition.hasWhen) throw new Error("The projection's query has no when() handlers");
  functions = fns;
  return definition;
}

parentPort.on('message', (message) => {
  mark(${PHASE_OTHER});
  try {
    if (message.type === 'init') {
      try {
        reply({ type: 'ready', definition: compile(message.name, message.query, message.emitEnabled, message.statesJson) });
      } catch (error) {
        reply({ type: 'fault', reason: describe(error) });
      }
      return;
    }
    if (!functions) throw new Error('batch before init');
    for (const e of message.events) {
      const data = decoder.decode(e.data);
      const metadata = decoder.decode(e.metadata);
      mark(${PHASE_HANDLER});
      const reason = functions.step(e.stream, e.revision, e.type, e.position, e.isJson, data, metadata, e.id, e.created, e.deleted);
      if (reason !== '') {
        reply({ type: 'fault', reason });
        return;
      }
    }
    mark(${PHASE_OTHER});
    const changes = functions.end();
    reply(changes.startsWith('E') ? { type: 'fault', reason: changes.slice(1) } : { type: 'done', changes });
  } catch (error) {
    reply({ type: 'fault', reason: describe(error) });
  } finally {
    mark(${PHASE_IDLE});
  }
});
`;
}
