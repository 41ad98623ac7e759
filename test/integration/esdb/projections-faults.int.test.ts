// Untrusted projection code: a handler that throws, never returns or fills the heap faults its
// own projection with the reason; the server keeps serving and other projections keep running.
// Nothing of the host is reachable from a projection.
import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, eventually } from './support.js';

const esdb = useTestEventStore();
const unique = (prefix: string) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10)}`;

async function faultOf(name: string): Promise<string> {
  const status = await eventually(async () => {
    const current = await esdb.client.getProjectionStatus(name);
    return current.projectionStatus === 'Faulted' ? current : undefined;
  }, 20_000);
  return status.stateReason;
}

describe('projection faults', () => {
  it('faults a throwing, a looping and a heap-filling projection with their reasons; the server and a healthy projection go on', async () => {
    const category = unique('fault');
    const healthy = unique('healthy-');
    await esdb.client.createProjection(healthy, `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n++; } })`);
    const throwing = unique('throwing-');
    const looping = unique('looping-');
    const bomb = unique('bomb-');
    await esdb.client.createProjection(throwing, `fromCategory('${category}').when({ $any: function (s, e) { throw new Error('no handler for ' + e.eventType); } })`);
    await esdb.client.createProjection(looping, `fromCategory('${category}').when({ $any: function (s, e) { for (;;) {} } })`);
    await esdb.client.createProjection(bomb, `fromCategory('${category}').when({ $any: function (s, e) { var held = []; for (;;) held.push(new Array(1000000).fill(e.sequenceNumber + 0.5)); } })`);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'Poison', data: {} })]);

    expect(await faultOf(throwing)).toBe('no handler for Poison');
    expect(await faultOf(looping)).toBe('The operation has timed out: a handler ran longer than 250 ms');
    expect(await faultOf(bomb)).toBe('Script has exceeded its memory limit of 128 MB');

    // The server keeps serving appends and reads, and the healthy projection keeps counting.
    await esdb.client.appendToStream(`${category}-2`, [jsonEvent({ type: 'Fine', data: {} })]);
    expect(await collect(esdb.client.readStream(`${category}-2`))).toHaveLength(1);
    await eventually(async () => (JSON.stringify(await esdb.client.getProjectionState(healthy)) === JSON.stringify({ n: 2 }) ? true : undefined), 10_000);

    // A faulted projection keeps its reason until it is fixed: update + enable runs it again.
    await esdb.client.updateProjection(throwing, `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n++; } })`);
    await esdb.client.enableProjection(throwing);
    await eventually(async () => (JSON.stringify(await esdb.client.getProjectionState(throwing)) === JSON.stringify({ n: 2 }) ? true : undefined), 10_000);
    expect((await esdb.client.getProjectionStatus(throwing)).stateReason).toBe('');
  });

  it('gives a projection no require, process, eval, timers or binary buffers', async () => {
    const category = unique('sandbox');
    const name = unique('sandboxed-');
    await esdb.client.createProjection(
      name,
      `fromCategory('${category}').when({
        $any: function (s, e) {
          s.require = typeof require;
          s.process = typeof process;
          s.setTimeout = typeof setTimeout;
          s.arrayBuffer = typeof ArrayBuffer;
          s.webAssembly = typeof WebAssembly;
          try { s.viaConstructor = (function () {}).constructor('return typeof process')(); } catch (error) { s.viaConstructor = error.name; }
          try { s.viaEval = eval('1 + 1'); } catch (error) { s.viaEval = error.name; }
          return s;
        }
      })`,
    );
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'Probe', data: {} })]);
    const state = await eventually(async () => {
      const current = (await esdb.client.getProjectionState(name)) as Record<string, unknown> | undefined;
      return current && 'require' in current ? current : undefined;
    }, 10_000);
    expect(state).toEqual({
      require: 'undefined',
      process: 'undefined',
      setTimeout: 'undefined',
      arrayBuffer: 'undefined',
      webAssembly: 'undefined',
      viaConstructor: 'EvalError',
      viaEval: 'EvalError',
    });
  });
});
