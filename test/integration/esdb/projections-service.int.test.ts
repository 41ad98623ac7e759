// The Projections service through the official client: every call, and EventStoreDB's documented
// examples run unchanged (a count per event type, a per-customer partitioned state, an emitting
// projection feeding a second one).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { jsonEvent, NotFoundError } from '@eventstore/db-client';
import projectionsGrpc from '@eventstore/db-client/generated/projections_grpc_pb.js';
import projectionsPb from '@eventstore/db-client/generated/projections_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import { describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import { listProjections, startProjections } from '../../../src/esdb-server/projections/index.js';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, eventually } from './support.js';

const esdb = useTestEventStore();

/** A category of streams no other test of the file writes to. */
const unique = (prefix: string) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10)}`;

async function stateOf(name: string, partition?: string): Promise<unknown> {
  return esdb.client.getProjectionState(name, partition === undefined ? {} : { partition });
}

/** Waits for a projection's state to equal `expected` (the projection runs on its own thread). */
async function stateBecomes(name: string, expected: unknown, options: { partition?: string; timeoutMs?: number } = {}): Promise<void> {
  let last: unknown;
  try {
    await eventually(async () => {
      last = await stateOf(name, options.partition);
      return isDeepStrictEqual(last, expected) ? true : undefined;
    }, options.timeoutMs ?? 10_000);
  } catch {
    expect(last).toEqual(expected);
  }
}

async function statusOf(name: string) {
  return esdb.client.getProjectionStatus(name);
}

describe('projections service: the documented examples', () => {
  it('counts events per event type (fromAll, $init, $any) and keeps counting live', async () => {
    const cart = unique('cart');
    const a = unique('TypeA');
    const b = unique('TypeB');
    await esdb.client.appendToStream(`${cart}-1`, [jsonEvent({ type: a, data: {} }), jsonEvent({ type: b, data: {} }), jsonEvent({ type: a, data: {} })]);
    const name = unique('count-per-type-');
    await esdb.client.createProjection(
      name,
      `fromAll()
        .when({
          $init: function () {
            return {};
          },
          $any: function (state, event) {
            if (event.eventType !== '${a}' && event.eventType !== '${b}') return state;
            state[event.eventType] = (state[event.eventType] || 0) + 1;
            return state;
          }
        })
        .outputState()`,
    );
    await stateBecomes(name, { [a]: 2, [b]: 1 });
    await esdb.client.appendToStream(`${cart}-2`, [jsonEvent({ type: b, data: {} })]);
    await stateBecomes(name, { [a]: 2, [b]: 2 });
    // outputState(): the state is also written as Result events to $projections-<name>-result.
    const results = await eventually(async () => {
      const events = await collect(esdb.client.readStream(`$projections-${name}-result`, { direction: 'backwards', fromRevision: 'end', maxCount: 1 }));
      return events[0]?.event?.type === 'Result' && isDeepStrictEqual(events[0].event.data, { [a]: 2, [b]: 2 }) ? events : undefined;
    }, 10_000);
    expect(results).toHaveLength(1);
  });

  it('counts Xbox One S added per shopping cart (fromCategory, foreachStream): a state per stream, read by partition', async () => {
    const category = unique('shoppingCart');
    const [first, second] = [`${category}-b989fe21-9469-4017-8d71-9820b8dd1164`, `${category}-b989fe21-9469-4017-8d71-9820b8dd1165`];
    await esdb.client.appendToStream(first, [
      jsonEvent({ type: 'ItemAdded', data: { Description: 'Xbox One S 1TB (Console)' } }),
      jsonEvent({ type: 'ItemAdded', data: { Description: 'Xbox One S Controller' } }),
      jsonEvent({ type: 'ItemRemoved', data: { Description: 'Xbox One S Controller' } }),
    ]);
    await esdb.client.appendToStream(second, [jsonEvent({ type: 'ItemAdded', data: { Description: 'Gears of War 4' } })]);
    const name = unique('xbox-one-s-counter-');
    await esdb.client.createProjection(
      name,
      `fromCategory('${category}')
      .foreachStream()
      .when({
          $init: function(){
              return {
                  count: 0
              }
          },
          ItemAdded: function(s,e){
              if(e.body.Description.indexOf("Xbox One S") >= 0){
                  s.count += 1;
              }
          }
      })
      .outputState()`,
    );
    await stateBecomes(name, { count: 2 }, { partition: first });
    await stateBecomes(name, { count: 0 }, { partition: second });
    expect(await esdb.client.getProjectionResult(name, { partition: first })).toEqual({ count: 2 });
    const status = await statusOf(name);
    expect(status.partitionsCached).toBe(2);
  });

  it('keeps a state per customer (partitionBy) and a transformed result (transformBy)', async () => {
    const category = unique('order');
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'OrderPlaced', data: { customerId: 'c-1', total: 1500 } })]);
    await esdb.client.appendToStream(`${category}-2`, [jsonEvent({ type: 'OrderPlaced', data: { customerId: 'c-2', total: 700 } })]);
    await esdb.client.appendToStream(`${category}-3`, [jsonEvent({ type: 'OrderPlaced', data: { customerId: 'c-1', total: 300 } })]);
    const name = unique('per-customer-');
    await esdb.client.createProjection(
      name,
      `fromCategory('${category}')
        .partitionBy(function (event) { return event.body.customerId; })
        .when({
          $init: function () { return { orders: 0, spent: 0 }; },
          OrderPlaced: function (state, event) {
            state.orders += 1;
            state.spent += event.body.total;
          }
        })
        .transformBy(function (state) {
          return { averageOrder: state.spent / state.orders };
        })
        .outputState()`,
    );
    await stateBecomes(name, { orders: 2, spent: 1800 }, { partition: 'c-1' });
    await stateBecomes(name, { orders: 1, spent: 700 }, { partition: 'c-2' });
    expect(await esdb.client.getProjectionResult(name, { partition: 'c-1' })).toEqual({ averageOrder: 900 });
  });

  it('feeds a second projection from the events a first one emits (emit, emitEnabled) and links (linkTo)', async () => {
    const orders = unique('order');
    const customers = unique('customer');
    const emitter = unique('customer-orders-');
    await esdb.client.createProjection(
      emitter,
      `fromCategory('${orders}')
        .when({
          OrderPlaced: function (state, event) {
            emit('${customers}-' + event.body.customerId, 'CustomerOrdered', { orderId: event.streamId });
            linkTo('${orders}-placed', event);
          }
        })`,
      { emitEnabled: true, trackEmittedStreams: true },
    );
    const counter = unique('orders-per-customer-');
    await esdb.client.createProjection(
      counter,
      `fromCategory('${customers}')
        .foreachStream()
        .when({
          $init: function () { return { orders: [] }; },
          CustomerOrdered: function (state, event) { state.orders.push(event.body.orderId); }
        })`,
    );
    await esdb.client.appendToStream(`${orders}-1`, [jsonEvent({ type: 'OrderPlaced', data: { customerId: 'ada' } })]);
    await esdb.client.appendToStream(`${orders}-2`, [jsonEvent({ type: 'OrderPlaced', data: { customerId: 'ada' } })]);
    await stateBecomes(counter, { orders: [`${orders}-1`, `${orders}-2`] }, { partition: `${customers}-ada` });
    const emitted = await collect(esdb.client.readStream(`${customers}-ada`));
    expect(emitted.map((event) => [event.event?.type, event.event?.data])).toEqual([
      ['CustomerOrdered', { orderId: `${orders}-1` }],
      ['CustomerOrdered', { orderId: `${orders}-2` }],
    ]);
    const linked = await collect(esdb.client.readStream(`${orders}-placed`, { resolveLinkTos: true }));
    expect(linked.map((event) => event.event?.streamId)).toEqual([`${orders}-1`, `${orders}-2`]);
    expect((await statusOf(emitter)).projectionStatus).toBe('Running');
  });

  it('selects one stream (fromStream), several (fromStreams), names the result stream (options) and filters the result (filterBy)', async () => {
    const category = unique('account');
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'myEventType', data: {} }), jsonEvent({ type: 'myEventType', data: {} })]);
    await esdb.client.appendToStream(`${category}-2`, [jsonEvent({ type: 'myEventType', data: {} })]);
    await esdb.client.appendToStream(`${category}-3`, [jsonEvent({ type: 'myEventType', data: {} })]);
    const single = unique('my_demo_projection_');
    const resultStream = unique('my_demo_projection_result_');
    await esdb.client.createProjection(
      single,
      `options({
        resultStreamName: "${resultStream}",
        $includeLinks: false,
        reorderEvents: false,
        processingLag: 0
      })

      fromStream('${category}-1')
      .when({
        $init:function(){
          return {
            count: 0
          }
        },
        myEventType: function(state, event){
          state.count += 1;
        }
      })
      .transformBy(function(state){
        state.count = 10;
      })
      .outputState()`,
    );
    await stateBecomes(single, { count: 2 });
    expect(await esdb.client.getProjectionResult(single)).toEqual({ count: 10 });
    const written = await eventually(async () => {
      const events = await collect(esdb.client.readStream(resultStream)).catch(() => []);
      return events.length > 0 ? events : undefined;
    }, 10_000);
    expect(written.at(-1)?.event?.data).toEqual({ count: 10 });

    const several = unique('several-');
    await esdb.client.createProjection(
      several,
      `fromStreams(['${category}-2', '${category}-3'])
        .when({ $init: function () { return { streams: [] }; }, $any: function (s, e) { s.streams.push(e.streamId); } })
        .filterBy(function (s) { return s.streams.length > 1; })`,
    );
    await stateBecomes(several, { streams: [`${category}-2`, `${category}-3`] });
    expect(await esdb.client.getProjectionResult(several)).toEqual({ streams: [`${category}-2`, `${category}-3`] });
  });

  it('calls $created for a new partition and $deleted for a stream deleted under foreachStream', async () => {
    const category = unique('cart');
    const name = unique('deletions-');
    await esdb.client.createProjection(
      name,
      `fromCategory('${category}')
        .foreachStream()
        .when({
          $init: function () { return { items: 0, deleted: false }; },
          $created: function (s, e) { s.items = 0; s.deleted = false; s.first = e.sequenceNumber; return s; },
          ItemAdded: function (s, e) { s.items += 1; },
          $deleted: function (s, e) { s.deleted = true; }
        })`,
    );
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'ItemAdded', data: {} })]);
    await stateBecomes(name, { items: 1, deleted: false, first: 0 }, { partition: `${category}-1` });
    await esdb.client.deleteStream(`${category}-1`);
    await stateBecomes(name, { items: 1, deleted: true, first: 0 }, { partition: `${category}-1` });
  });

  it('faults a projection that emits without emitEnabled, with the reason', async () => {
    const category = unique('order');
    const name = unique('no-emit-');
    await esdb.client.createProjection(name, `fromCategory('${category}').when({ OrderPlaced: function (s, e) { emit('x-1', 'X', {}); } })`);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'OrderPlaced', data: {} })]);
    const status = await eventually(async () => {
      const current = await statusOf(name);
      return current.projectionStatus === 'Faulted' ? current : undefined;
    }, 10_000);
    expect(status.stateReason).toBe("'emit' is not allowed by the projection/configuration/mode");
  });
});

describe('projections service: every call', () => {
  it('lists projections with status, mode and position, and answers NotFound for an unknown one', async () => {
    const name = unique('listed-');
    await esdb.client.createProjection(name, `fromAll().when({ $any: function (s, e) { s.seen = (s.seen || 0) + 1; } })`);
    const listed = await eventually(async () => {
      const all = await esdb.client.listProjections();
      const mine = all.find((projection) => projection.name === name);
      return mine && mine.position !== '' ? { all, mine } : undefined;
    }, 10_000);
    expect(listed.mine).toMatchObject({ name, effectiveName: name, projectionStatus: 'Running', status: 'Running', stateReason: '' });
    expect(listed.mine.position).toMatch(/^C:\d+\/P:\d+$/);
    await expect(esdb.client.getProjectionStatus(unique('missing-'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(esdb.client.getProjectionState(unique('missing-'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a second projection of the same name', async () => {
    const name = unique('twice-');
    await esdb.client.createProjection(name, `fromAll().when({ $any: function (s, e) {} })`);
    await expect(esdb.client.createProjection(name, `fromAll().when({ $any: function (s, e) {} })`)).rejects.toThrow(/already exists/);
  });

  it('faults a projection whose query does not compile, with the compiler reason', async () => {
    const name = unique('syntax-');
    await esdb.client.createProjection(name, `fromAll().when({ $any: function (s, e) { return s; }`);
    const status = await eventually(async () => {
      const current = await statusOf(name);
      return current.projectionStatus === 'Faulted' ? current : undefined;
    }, 10_000);
    expect(status.stateReason).toMatch(/Failed to compile the projection's query/);
  });

  it('disables (with a checkpoint), aborts (without) and enables again, continuing where it stopped', async () => {
    const category = unique('order');
    const name = unique('toggled-');
    await esdb.client.createProjection(name, `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n++; } })`);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 1 });
    await esdb.client.disableProjection(name);
    expect((await statusOf(name)).projectionStatus).toBe('Stopped');
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    expect(await stateOf(name)).toEqual({ n: 1 });
    await esdb.client.enableProjection(name);
    await stateBecomes(name, { n: 2 });
    expect((await statusOf(name)).projectionStatus).toBe('Running');
    await esdb.client.abortProjection(name);
    expect((await statusOf(name)).projectionStatus).toBe('Aborted');
    await esdb.client.enableProjection(name);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 3 });
  });

  it('updates the query (the state is kept, new events go through the new handlers) and resets to the start', async () => {
    const category = unique('order');
    const name = unique('updated-');
    await esdb.client.createProjection(name, `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n += 1; } })`);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} }), jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 2 });
    await esdb.client.updateProjection(name, `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n += 10; } })`);
    expect((await statusOf(name)).version).toBe(2n);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 12 });
    const epoch = (await statusOf(name)).epoch;
    await esdb.client.resetProjection(name);
    await stateBecomes(name, { n: 30 });
    expect((await statusOf(name)).epoch).toBe(epoch + 1n);
  });

  it('deletes a stopped projection with its emitted and result streams; refuses while it runs', async () => {
    const category = unique('order');
    const target = unique('copy');
    const name = unique('deleted-');
    await esdb.client.createProjection(
      name,
      `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, A: function (s, e) { s.n++; emit('${target}-1', 'Copied', {}); } }).outputState()`,
      { emitEnabled: true, trackEmittedStreams: true },
    );
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 1 });
    await eventually(async () => ((await collect(esdb.client.readStream(`${target}-1`))).length === 1 ? true : undefined), 10_000);
    await expect(esdb.client.deleteProjection(name)).rejects.toThrow(/disable it first/);
    await esdb.client.disableProjection(name);
    await esdb.client.deleteProjection(name, { deleteEmittedStreams: true, deleteStateStream: true, deleteCheckpointStream: true });
    await expect(esdb.client.getProjectionStatus(name)).rejects.toBeInstanceOf(NotFoundError);
    await expect(collect(esdb.client.readStream(`${target}-1`))).rejects.toThrow(/not found/i);
    await expect(collect(esdb.client.readStream(`$projections-${name}-result`))).rejects.toThrow(/not found/i);
  });

  it('runs one-time and transient projections to the end of $all, then reports them completed', async () => {
    const category = unique('order');
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} }), jsonEvent({ type: 'A', data: {} })]);
    const query = `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, A: function (s, e) { s.n++; } })`;
    const raw = new projectionsGrpc.ProjectionsClient(`127.0.0.1:${esdb.store.server.port}`, grpc.credentials.createInsecure());
    try {
      const create = (options: InstanceType<typeof projectionsPb.CreateReq.Options>) =>
        new Promise<void>((resolve, reject) => raw.create(new projectionsPb.CreateReq().setOptions(options), (error) => (error ? reject(error) : resolve())));
      const transient = unique('transient-');
      await create(new projectionsPb.CreateReq.Options().setQuery(query).setTransient(new projectionsPb.CreateReq.Options.Transient().setName(transient)));
      await create(new projectionsPb.CreateReq.Options().setQuery(query).setOneTime(new sharedPb.Empty()));
      const done = await eventually(async () => {
        const status = await esdb.client.getProjectionStatus(transient);
        return status.projectionStatus === 'Completed' ? status : undefined;
      }, 10_000);
      expect(done.progress).toBe(100);
      expect(await stateOf(transient)).toEqual({ n: 2 });
      // A one-time projection gets a generated name; listProjections() lists continuous ones only.
      expect((await esdb.client.listProjections()).some((projection) => projection.name === transient)).toBe(false);
    } finally {
      raw.close();
    }
  });

  it('restarts the subsystem: running projections stop with a checkpoint and run on', async () => {
    const category = unique('order');
    const name = unique('restarted-');
    await esdb.client.createProjection(name, `fromCategory('${category}').when({ $init: function () { return { n: 0 }; }, $any: function (s, e) { s.n++; } })`);
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 1 });
    await esdb.client.restartSubsystem();
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: {} })]);
    await stateBecomes(name, { n: 2 });
    expect((await statusOf(name)).projectionStatus).toBe('Running');
  });
});

describe('system projections', () => {
  it('are listed with their real status and position', async () => {
    await esdb.client.appendToStream(unique('sys') + '-1', [jsonEvent({ type: 'A', data: {} })]);
    const all = await esdb.client.listProjections();
    const system = Object.fromEntries(all.filter((projection) => projection.name.startsWith('$')).map((projection) => [projection.name, projection]));
    expect(Object.keys(system).sort()).toEqual(['$by_category', '$by_correlation_id', '$by_event_type', '$stream_by_category', '$streams']);
    expect(system.$by_category).toMatchObject({ projectionStatus: 'Running', progress: 100 });
    expect(system.$by_category!.position).toMatch(/^C:\d+\/P:\d+$/);
    expect(system.$stream_by_category).toMatchObject({ projectionStatus: 'Stopped' });
  });

  it('stop linking while disabled and catch up when enabled again ($by_category, $stream_by_category)', async () => {
    const category = unique('sysorder');
    await esdb.client.appendToStream(`${category}-1`, [jsonEvent({ type: 'A', data: { n: 1 } })]);
    await esdb.client.disableProjection('$by_category');
    try {
      expect((await statusOf('$by_category')).projectionStatus).toBe('Stopped');
      await esdb.client.appendToStream(`${category}-2`, [jsonEvent({ type: 'A', data: { n: 2 } })]);
      const whileDisabled = await collect(esdb.client.readStream(`$ce-${category}`, { resolveLinkTos: true }));
      expect(whileDisabled.map((event) => event.event?.data)).toEqual([{ n: 1 }]);
    } finally {
      await esdb.client.enableProjection('$by_category');
    }
    expect((await statusOf('$by_category')).projectionStatus).toBe('Running');
    await esdb.client.appendToStream(`${category}-3`, [jsonEvent({ type: 'A', data: { n: 3 } })]);
    const caughtUp = await collect(esdb.client.readStream(`$ce-${category}`, { resolveLinkTos: true }));
    expect(caughtUp.map((event) => event.event?.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);

    await esdb.client.enableProjection('$stream_by_category');
    try {
      const firsts = await collect(esdb.client.readStream(`$category-${category}`, { resolveLinkTos: true }));
      expect(firsts.map((event) => event.event?.streamId)).toEqual([`${category}-1`, `${category}-2`, `${category}-3`]);
    } finally {
      await esdb.client.disableProjection('$stream_by_category');
    }
  });
});

describe('listProjections() for the store UI', () => {
  it('lists the system projections of a log with status and position', async () => {
    const log = openSqliteEventLog({ file: ':memory:' });
    const service = await startProjections(log);
    try {
      await log.append('order-1', 'any', [{ id: randomUUID(), type: 'A', contentType: 'application/json', data: Buffer.from('{}'), metadata: new Uint8Array(0) }]);
      const listed = listProjections(log);
      expect(listed.map((projection) => [projection.name, projection.status, projection.position])).toEqual([
        ['$by_category', 'Running', log.headPosition()],
        ['$by_event_type', 'Running', log.headPosition()],
        ['$by_correlation_id', 'Running', log.headPosition()],
        ['$stream_by_category', 'Stopped', -1],
        ['$streams', 'Running', log.headPosition()],
      ]);
    } finally {
      await service.close?.();
      await log.close();
    }
  });
});
