import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamDeletedError } from '../../../src/esdb-server/log/errors.js';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import type { EventLog, ProposedEvent } from '../../../src/esdb-server/log/types.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const event = (type = 'thing.happened', metadata: unknown = {}): ProposedEvent => ({
  id: randomUUID(),
  type,
  contentType: 'application/json',
  data: json({ at: type }),
  metadata: json(metadata),
});
const types = (log: EventLog, stream: string, resolveLinkTos = false) => {
  const result = log.readStream(stream, { from: 'start', direction: 'forwards', maxCount: 1000, resolveLinkTos });
  return result.kind === 'ok' ? result.events.map((e) => `${e.event?.stream}/${e.event?.revision}`) : result.kind;
};

let log: EventLog;
const dirs: string[] = [];
afterEach(async () => {
  await log?.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the SQLite event log', () => {
  it('appends concurrently arriving appends in one group, each atomically and in order', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const results = await Promise.all([
      log.append('order-1', 'no_stream', [event(), event()]),
      log.append('order-2', 'no_stream', [event()]),
      log.append('order-1', 'no_stream', [event()]),
    ]);
    expect(results.map((r) => r.kind)).toEqual(['success', 'success', 'wrong_expected_version']);
    expect(results[2]).toMatchObject({ currentRevision: 1, expected: 'no_stream' });
    expect(types(log, 'order-1')).toEqual(['order-1/0', 'order-1/1']);
    const all = log.readAll({ from: 'start', direction: 'forwards', maxCount: 100, resolveLinkTos: false });
    const positions = all.events.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // A new store begins with EventStoreDB's own epoch event, then the appends.
    expect(all.events.map((e) => e.event!.stream)).toEqual(['$epoch-information', 'order-1', 'order-1', 'order-2']);
  });

  it('treats the same event ids after the same expected revision as already written', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const batch = [event(), event()];
    const first = await log.append('order-1', 'no_stream', batch);
    const again = await log.append('order-1', 'no_stream', batch);
    const withAny = await log.append('order-1', 'any', batch);
    expect(again).toEqual(first);
    expect(withAny).toEqual(first);
    expect(types(log, 'order-1')).toEqual(['order-1/0', 'order-1/1']);
  });

  it('keeps $ce-, $et-, $bc- and $streams as link streams resolved on read', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await log.append('order-1', 'any', [event('order.created', { $correlationId: 'c1' })]);
    await log.append('order-2', 'any', [event('order.created', { $correlationId: 'c1' }), event('order.paid')]);
    expect(types(log, '$ce-order', true)).toEqual(['order-1/0', 'order-2/0', 'order-2/1']);
    expect(types(log, '$et-order.paid', true)).toEqual(['order-2/1']);
    expect(types(log, '$bc-c1', true)).toEqual(['order-1/0', 'order-2/0']);
    expect(types(log, '$streams', true)).toEqual(['order-1/0', 'order-2/0']);
    expect(types(log, '$ce-order', false)).toEqual(['$ce-order/0', '$ce-order/1', '$ce-order/2']);
  });

  it('soft delete hides the stream, and a later append continues its revisions', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await log.append('order-1', 'any', [event(), event()]);
    await log.deleteStream('order-1', 1);
    expect(types(log, 'order-1')).toBe('not_found');
    await log.append('order-1', 'no_stream', [event()]);
    expect(types(log, 'order-1')).toEqual(['order-1/2']);
  });

  it('tombstone refuses reads and appends for ever', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await log.append('order-1', 'any', [event()]);
    await log.tombstoneStream('order-1', 'any');
    expect(types(log, 'order-1')).toBe('deleted');
    await expect(log.append('order-1', 'any', [event()])).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('honours $maxCount and $tb from the stream metadata', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await log.append('order-1', 'any', [event(), event(), event(), event()]);
    await log.append('$$order-1', 'any', [{ ...event('$metadata'), data: json({ $maxCount: 2 }) }]);
    expect(types(log, 'order-1')).toEqual(['order-1/2', 'order-1/3']);
    await log.append('$$order-1', 'any', [{ ...event('$metadata'), data: json({ $tb: 1 }) }]);
    expect(types(log, 'order-1')).toEqual(['order-1/1', 'order-1/2', 'order-1/3']);
  });

  it('filters $all by stream prefix within a search window', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await log.append('a-1', 'any', [event(), event(), event()]);
    await log.append('b-1', 'any', [event()]);
    const windowed = log.readAll({ from: 'start', direction: 'forwards', maxCount: 10, resolveLinkTos: false, filter: { on: 'stream', prefixes: ['b-'] }, maxSearchWindow: 2 });
    expect(windowed.events).toHaveLength(0);
    expect(windowed.lastScannedPosition).toBeDefined();
    const rest = log.readAll({ from: windowed.lastScannedPosition! + 1, direction: 'forwards', maxCount: 10, resolveLinkTos: false, filter: { on: 'stream', prefixes: ['b-'] } });
    expect(rest.events.map((e) => e.event?.stream)).toEqual(['b-1']);
    expect(rest.endOfLog).toBe(true);
  });

  it('keeps what was committed when reopened, with revisions and positions intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-log-'));
    dirs.push(dir);
    log = openSqliteEventLog({ file: join(dir, 'es.db') });
    await log.append('order-1', 'any', [event(), event()]);
    const head = log.headPosition();
    await log.close();
    log = openSqliteEventLog({ file: join(dir, 'es.db') });
    expect(log.headPosition()).toBe(head);
    expect(log.streamRevision('order-1')).toBe(1);
    const next = await log.append('order-1', 1, [event()]);
    expect(next).toMatchObject({ kind: 'success', nextRevision: 2 });
  });

  it.each([':memory:', 'file'])('answers a system stream\'s revision (users, $settings, $$ metadata: kept between commits) as of the last commit (%s)', async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), 'event-log-'));
    dirs.push(dir);
    log = openSqliteEventLog({ file: kind === 'file' ? join(dir, 'es.db') : ':memory:' });
    // Asked before it exists, twice: the second answer comes from what the first one learnt.
    expect(log.streamRevision('$user-ada')).toBeUndefined();
    expect(log.streamRevision('$user-ada')).toBeUndefined();
    await log.append('$user-ada', 'no_stream', [event('$UserCreated')]);
    expect(log.streamRevision('$user-ada')).toBe(0);
    expect(log.streamRevision('$user-ada')).toBe(0);
    // Written in the same group as another stream.
    await Promise.all([log.append('$user-ada', 0, [event('$UserUpdated')]), log.append('order-1', 'any', [event()])]);
    expect(log.streamRevision('$user-ada')).toBe(1);
    await log.append('$$$user-ada', 'any', [event('$metadata')]);
    expect(log.streamRevision('$$$user-ada')).toBe(0);
    expect(log.readStream('$user-ada', { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false })).toMatchObject({ kind: 'ok', lastRevision: 1 });
    await log.deleteStream('$user-ada', 1);
    await log.append('$user-ada', 'any', [event('$UserCreated')]);
    expect(log.streamRevision('$user-ada')).toBe(2);
    await log.tombstoneStream('$user-ada', 'any');
    expect(log.streamRevision('$user-ada')).toBeUndefined();
    await expect(log.append('$user-ada', 'any', [event()])).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('writes exactly the bytes of events that are views into larger buffers (as gRPC hands them over), several appends in one group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-log-'));
    dirs.push(dir);
    log = openSqliteEventLog({ file: join(dir, 'es.db') });
    const pool = Buffer.alloc(8192, 0x2a);
    const viewed = (text: string, at: number) => {
      pool.write(text, at, 'utf8');
      return pool.subarray(at, at + Buffer.byteLength(text));
    };
    const first: ProposedEvent = { id: randomUUID(), type: 'a', contentType: 'application/json', data: viewed('{"n":1}', 100), metadata: viewed('{"m":"x"}', 4000) };
    const second: ProposedEvent = { id: randomUUID(), type: 'b', contentType: 'application/octet-stream', data: viewed('bytes', 7000), metadata: new Uint8Array(0) };
    await Promise.all([log.append('view-1', 'no_stream', [first]), log.append('view-2', 'no_stream', [second])]);
    // The caller's events are left as they were.
    expect(Buffer.from(first.data).toString('utf8')).toBe('{"n":1}');
    const read = (stream: string) => {
      const result = log.readStream(stream, { from: 'start', direction: 'forwards', maxCount: 10, resolveLinkTos: false });
      const stored = result.kind === 'ok' ? result.events[0]?.event : undefined;
      return stored && [Buffer.from(stored.data).toString('utf8'), Buffer.from(stored.metadata).toString('utf8')];
    };
    expect(read('view-1')).toEqual(['{"n":1}', '{"m":"x"}']);
    expect(read('view-2')).toEqual(['bytes', '']);
  });
});
