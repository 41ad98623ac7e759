// How the API's port gets several listeners in one process (each accepts one new connection per
// event-loop iteration), by runtime: reusePort sockets, or the one socket's descriptor shared
// (Node 20 on Linux, this machine), or one listener. Real sockets and a real helper process.
import { execFileSync } from 'node:child_process';
import { createServer, get, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import {
  ACCEPT_LISTENERS,
  acceptListenerCount,
  acceptListenerMode,
  addAcceptListeners,
  duplicateListeningHandle,
  handOverTo,
  mainListenOptions,
  supportsReusePort,
} from '../../../src/api/accept-listeners.js';

describe('accept listeners by runtime', () => {
  it.each([
    ['20.20.2', 'linux', 'shared'],
    ['22.11.0', 'linux', 'shared'],
    ['22.12.0', 'linux', 'reusePort'],
    ['v22.14.1', 'linux', 'reusePort'],
    ['23.0.0', 'linux', 'shared'],
    ['23.1.0', 'linux', 'reusePort'],
    ['24.0.0', 'linux', 'reusePort'],
    ['24.0.0', 'freebsd', 'reusePort'],
    ['20.20.2', 'freebsd', 'single'],
    ['24.0.0', 'darwin', 'single'],
    ['24.0.0', 'win32', 'single'],
  ] as const)('Node %s on %s: %s', (version, platform, mode) => {
    expect(acceptListenerMode(version, platform)).toBe(mode);
    expect(acceptListenerCount(8, version, platform)).toBe(mode === 'single' ? 1 : 8);
    expect(acceptListenerCount(undefined, version, platform)).toBe(mode === 'single' ? 1 : ACCEPT_LISTENERS);
    // Only sockets of their own need reusePort on the main listener too.
    expect(mainListenOptions(8, mode)).toEqual(mode === 'reusePort' ? { reusePort: true } : {});
    expect(mainListenOptions(1, mode)).toEqual({});
  });

  it('chooses by the Node running the tests', () => {
    expect(acceptListenerMode()).toBe(supportsReusePort(process.versions.node, process.platform) ? 'reusePort' : process.platform === 'linux' ? 'shared' : 'single');
  });
});

async function listening(options: { reusePort?: boolean; backlog?: number } = {}): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', ...options }, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const answer = (port: number) =>
  new Promise<string>((resolve, reject) => {
    get({ port, host: '127.0.0.1', agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve(text));
    }).on('error', reject);
  });

/**
 * Opens `count` connections to `port` from another process while this one's event loop is
 * blocked (the kernel completes their handshakes into the accept queue), and returns how many
 * were established within `withinMs` (a handshake the full accept queue dropped is retried after
 * a second).
 */
function connectWhileBlocked(port: number, count: number, withinMs = 700): number {
  const script = `const net=require('net');let n=0;const t=Date.now();for(let i=0;i<${count};i++){const s=net.connect(${port},'127.0.0.1',()=>{if(Date.now()-t<=${withinMs})n++});s.on('error',()=>{})}setTimeout(()=>{console.log(n);process.exit(0)},${withinMs})`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

/** How many connections `server` got in each of the next turns of the event loop. */
function perIteration(server: Server, turns: number): Promise<number[]> {
  const counts: number[] = [];
  let count = 0;
  const onConnection = (socket: Socket) => {
    count++;
    socket.destroy();
  };
  server.prependListener('connection', onConnection);
  return new Promise((resolve) => {
    const turn = () => {
      counts.push(count);
      count = 0;
      if (counts.length <= turns) return void setImmediate(turn);
      server.off('connection', onConnection);
      resolve(counts.slice(1));
    };
    setImmediate(turn);
  });
}

describe('addAcceptListeners', () => {
  it('adds nothing for one listener: the server answers as before', async () => {
    const { server, port } = await listening();
    const close = await addAcceptListeners(server, { count: 1, host: '127.0.0.1', backlog: 511 });
    expect(await answer(port)).toBe('ok');
    await close();
    await new Promise((resolve) => server.close(resolve));
  });

  // Without reusePort a second socket on the port is refused, which is why Node 20 shares the one socket instead.
  it.runIf(!supportsReusePort())('refuses sockets of their own where the runtime has no reusePort', async () => {
    const { server } = await listening();
    await expect(addAcceptListeners(server, { count: 2, host: '127.0.0.1', backlog: 511, mode: 'reusePort' })).rejects.toThrow(/EADDRINUSE/);
    await new Promise((resolve) => server.close(resolve));
  });

  it.runIf(supportsReusePort())('reusePort: hands every connection of every listener to the one server, and stops them with its close', async () => {
    const { server, port } = await listening({ reusePort: true });
    await addAcceptListeners(server, { count: ACCEPT_LISTENERS, host: '127.0.0.1', backlog: 511, mode: 'reusePort' });
    const answers = await Promise.all(Array.from({ length: 40 }, () => answer(port)));
    expect(answers).toEqual(Array.from({ length: 40 }, () => 'ok'));
    await new Promise((resolve) => server.close(resolve));
    await expect(answer(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  describe.runIf(process.platform === 'linux')('shared: the one socket through duplicated descriptors', () => {
    it('gets new descriptors of the listening socket from the helper process', async () => {
      const { server } = await listening();
      const handles = await duplicateListeningHandle(server, 3);
      const fds = handles.map((handle) => (handle as { fd: number }).fd);
      const own = (server as unknown as { _handle: { fd: number } })._handle.fd;
      expect(new Set([own, ...fds]).size).toBe(4);
      for (const handle of handles) (handle as { close(): void }).close();
      await new Promise((resolve) => server.close(resolve));
    });

    it('accepts up to one connection per listener in each turn of the event loop (one without them)', async () => {
      const { server, port } = await listening();
      connectWhileBlocked(port, 40);
      const single = await perIteration(server, 10);
      expect(Math.max(...single)).toBe(1);
      await addAcceptListeners(server, { count: 4, host: '127.0.0.1', backlog: 511, mode: 'shared' });
      connectWhileBlocked(port, 40);
      const shared = await perIteration(server, 10);
      expect(Math.max(...shared)).toBe(4);
      await new Promise((resolve) => server.close(resolve));
    });

    it('keeps the main listener’s backlog (listen() on the shared socket would set it back to 511)', async () => {
      const { server, port } = await listening({ backlog: 1_024 });
      await addAcceptListeners(server, { count: 4, host: '127.0.0.1', backlog: 1_024, mode: 'shared' });
      // 700 handshakes while nothing accepts: all fit a backlog of 1,024; past 511 they would be dropped.
      expect(connectWhileBlocked(port, 700)).toBe(700);
      await new Promise((resolve) => server.close(resolve));
    });

    it('answers through every listener, and stops them all with the server’s close', async () => {
      const { server, port } = await listening();
      const fallback = vi.fn();
      await addAcceptListeners(server, { count: 4, host: '127.0.0.1', backlog: 511, mode: 'shared', onFallback: fallback });
      const answers = await Promise.all(Array.from({ length: 40 }, () => answer(port)));
      expect(answers).toEqual(Array.from({ length: 40 }, () => 'ok'));
      expect(fallback).not.toHaveBeenCalled();
      await new Promise((resolve) => server.close(resolve));
      // A descriptor left open would keep the socket listening.
      await expect(answer(port)).rejects.toThrow(/ECONNREFUSED/);
    });

    it('refuses to share a server that does not listen', async () => {
      await expect(duplicateListeningHandle(createNetServer(), 1)).rejects.toThrow(/no handle/);
    });
  });

  // The HTTP server's own listener turns Nagle off on what it accepts; a plain net listener does not.
  it('hands a connection over with Nagle off, and the HTTP server answers on it', async () => {
    const { server } = await listening();
    const extra = createNetServer(handOverTo(server));
    const handedOver = new Promise<Socket>((resolve) => extra.once('connection', resolve));
    await new Promise<void>((resolve) => extra.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const noDelay = vi.spyOn((await import('node:net')).Socket.prototype, 'setNoDelay');
    try {
      expect(await answer((extra.address() as AddressInfo).port)).toBe('ok');
      const socket = await handedOver;
      expect(noDelay.mock.contexts).toContain(socket);
      expect(noDelay.mock.calls[noDelay.mock.contexts.indexOf(socket)]).toEqual([true]);
    } finally {
      noDelay.mockRestore();
      await new Promise((resolve) => extra.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
