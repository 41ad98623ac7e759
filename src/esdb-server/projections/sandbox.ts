// One projection's user code in a node:vm context of its own, inside the projection's worker
// thread: no require, no process, no timers, no network or file system, no eval / new Function /
// WebAssembly (code generation is off), and microtasks stay in the context's own queue so no
// callback runs after a handler returns. Time and memory limits are the thread's (runner.ts).
import vm from 'node:vm';
import { PRELUDE } from './prelude.js';
import type { SourceDefinition } from './wire.js';

interface ContextFunctions {
  configure(name: string, emitEnabled: boolean, statesJson: string): void;
  definition(): string;
  step(stream: string, revision: number, type: string, position: number, isJson: boolean, data: string, metadata: string, id: string, created: number, deleted: boolean): string;
  end(): string;
}

export class ProjectionSandbox {
  readonly definition: SourceDefinition;
  private readonly functions: ContextFunctions;

  /** Throws (a string reason) when the query does not compile or its top level throws. */
  constructor(name: string, query: string, emitEnabled: boolean, statesJson: string) {
    const context = vm.createContext(Object.create(null) as object, {
      name: `projection ${name}`,
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    new vm.Script(PRELUDE, { filename: 'prelude.js' }).runInContext(context);
    this.functions = new vm.Script('({ configure: __configure, definition: __definition, step: __step, end: __end })').runInContext(context) as ContextFunctions;
    this.functions.configure(name, emitEnabled, statesJson);
    let script: vm.Script;
    try {
      script = new vm.Script(query, { filename: `${name}.js` });
    } catch (error) {
      throw new Error(`Failed to compile the projection's query: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    script.runInContext(context);
    this.definition = JSON.parse(this.functions.definition()) as SourceDefinition;
    if (!this.definition.hasWhen) throw new Error("The projection's query has no when() handlers");
  }

  /** '' when handled, else why the handler faulted. */
  step(event: { stream: string; revision: number; type: string; position: number; isJson: boolean; data: string; metadata: string; id: string; created: number; deleted: boolean }): string {
    return this.functions.step(event.stream, event.revision, event.type, event.position, event.isJson, event.data, event.metadata, event.id, event.created, event.deleted);
  }

  /** JSON of what the batch changed, or 'E' + why it faulted. */
  end(): string {
    return this.functions.end();
  }
}
