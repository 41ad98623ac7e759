// How long a new connection waited in the kernel's accept queue: the depth the kernel reports
// for a listener that accepts nothing (a stopped process), and the FIFO estimate drawn from
// samples of that depth and the connections accepted since.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backlogOf, procAcceptQueueDepth, watchAcceptWait } from '../../../src/api/accept-wait.js';
import { freePort } from '../../helpers/free-port.js';

describe('the FIFO estimate of a connection wait to be accepted', () => {
  const samples = [
    { at: 100, arrived: 10 },
    { at: 200, arrived: 40 },
    { at: 300, arrived: 45 },
  ];

  it.each([
    [5, 500, 400],
    [10, 500, 400],
    [11, 500, 300],
    [40, 500, 300],
    [45, 350, 50],
  ])('the %i-th connection, accepted at %i, waited from the first sample by which it had arrived: %i ms', (n, at, waited) => {
    expect(backlogOf(samples, n, at)).toBe(waited);
  });

  it('counts no wait for a connection that arrived after the last sample, or before any', () => {
    expect(backlogOf(samples, 46, 500)).toBe(0);
    expect(backlogOf([], 1, 500)).toBe(0);
  });
});

describe('watchAcceptWait', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it("gives each connection's first request its estimated wait, once", async () => {
    // A plain listener: the sockets below are stand-ins no HTTP server would take.
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    let clock = 0;
    const depths = [3];
    const sampled: number[] = [];
    const watch = watchAcceptWait(server, {
      everyMs: 60_000,
      now: () => clock,
      readDepth: async (port) => {
        sampled.push(port);
        return depths.shift() ?? 0;
      },
    });
    const sockets = Array.from({ length: 5 }, () => ({}) as Socket);
    // The first accept starts the sampling: 1 accepted and 3 queued had arrived by 0.
    server.emit('connection', sockets[0]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sampled).toEqual([(server.address() as { port: number }).port]);
    clock = 300;
    for (const socket of sockets.slice(1, 4)) server.emit('connection', socket);
    clock = 400;
    server.emit('connection', sockets[4]);
    clock = 450;
    expect(watch.takeFirst(sockets[0])).toEqual({ backlogMs: 0, sinceAcceptMs: 450 });
    expect(watch.takeFirst(sockets[3])).toEqual({ backlogMs: 300, sinceAcceptMs: 150 });
    // The 5th had not arrived by the sample: no wait seen.
    expect(watch.takeFirst(sockets[4])).toEqual({ backlogMs: 0, sinceAcceptMs: 50 });
    expect(watch.takeFirst(sockets[3])).toBeUndefined();
    expect(watch.takeFirst({} as Socket)).toBeUndefined();
    watch.stop();
  });

  it('stops sampling, and sees no wait, when the depth cannot be read', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    let reads = 0;
    const watch = watchAcceptWait(server, {
      everyMs: 1,
      readDepth: async () => {
        reads++;
        throw new Error('no such file');
      },
    });
    const sockets = [{}, {}] as Socket[];
    server.emit('connection', sockets[0]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    server.emit('connection', sockets[1]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reads).toBe(1);
    expect(watch.takeFirst(sockets[1])?.backlogMs).toBe(0);
    watch.stop();
  });
});

describe.runIf(process.platform === 'linux')('procAcceptQueueDepth', () => {
  let listener: ChildProcess | undefined;
  const clients: Socket[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
    listener?.kill('SIGKILL');
  });

  it('reads the accept queue of a listener that accepts nothing', async () => {
    const port = await freePort();
    // A process that listens, then is stopped: the kernel completes handshakes into its queue.
    listener = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => listener!.stdout!.once('data', resolve));
    expect(await procAcceptQueueDepth(port)).toBe(0);
    listener.kill('SIGSTOP');
    for (let index = 0; index < 3; index++) {
      const client = connect(port, '127.0.0.1');
      clients.push(client);
      await new Promise((resolve) => client.once('connect', resolve));
    }
    expect(await procAcceptQueueDepth(port)).toBe(3);
    expect(await procAcceptQueueDepth(await freePort())).toBe(0);
  });
});
