// Which runtimes get several listeners on the API's port (reusePort), and that on this one
// (Node 20: no reusePort) the service keeps its single listener.
import { createServer, get, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { ACCEPT_LISTENERS, acceptListenerCount, addAcceptListeners, handOverTo, mainListenOptions, supportsReusePort } from '../../../src/api/accept-listeners.js';

describe('accept listeners by runtime', () => {
  it.each([
    ['20.20.2', 1],
    ['22.11.0', 1],
    ['22.12.0', ACCEPT_LISTENERS],
    ['v22.14.1', ACCEPT_LISTENERS],
    ['23.0.0', 1],
    ['23.1.0', ACCEPT_LISTENERS],
    ['24.0.0', ACCEPT_LISTENERS],
  ])('Node %s on Linux: %i listener(s)', (version, count) => {
    expect(acceptListenerCount(version, 'linux')).toBe(count);
    expect(mainListenOptions(count)).toEqual(count > 1 ? { reusePort: true } : {});
  });

  it('keeps one listener where the platform has no reusePort for listen()', () => {
    expect(supportsReusePort('24.0.0', 'darwin')).toBe(false);
    expect(acceptListenerCount('24.0.0', 'win32')).toBe(1);
  });

  it('chooses by the Node running the tests', () => {
    expect(acceptListenerCount()).toBe(supportsReusePort(process.versions.node, process.platform) ? ACCEPT_LISTENERS : 1);
  });
});

async function listening(reusePort: boolean): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', ...(reusePort ? { reusePort: true } : {}) }, resolve));
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

describe('addAcceptListeners', () => {
  it('adds nothing for one listener: the server answers as before', async () => {
    const { server, port } = await listening(false);
    const close = await addAcceptListeners(server, { count: 1, host: '127.0.0.1', backlog: 511 });
    expect(await answer(port)).toBe('ok');
    await close();
    await new Promise((resolve) => server.close(resolve));
  });

  // Node 20 has no reusePort: a second listener on the port is refused, which is why the count is chosen by version.
  it.runIf(!supportsReusePort())('refuses more listeners where the runtime has no reusePort', async () => {
    const { server } = await listening(false);
    await expect(addAcceptListeners(server, { count: 2, host: '127.0.0.1', backlog: 511 })).rejects.toThrow(/EADDRINUSE/);
    await new Promise((resolve) => server.close(resolve));
  });

  it.runIf(supportsReusePort())('hands every connection of every listener to the one server, and stops them with its close', async () => {
    const { server, port } = await listening(true);
    await addAcceptListeners(server, { count: ACCEPT_LISTENERS, host: '127.0.0.1', backlog: 511 });
    const answers = await Promise.all(Array.from({ length: 40 }, () => answer(port)));
    expect(answers).toEqual(Array.from({ length: 40 }, () => 'ok'));
    await new Promise((resolve) => server.close(resolve));
    await expect(answer(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  // The HTTP server's own listener turns Nagle off on what it accepts; a plain net listener does not.
  it('hands a connection over with Nagle off, and the HTTP server answers on it', async () => {
    const { server } = await listening(false);
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
