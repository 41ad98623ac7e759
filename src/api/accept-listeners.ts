// Node accepts one new connection per event-loop iteration and listener (libuv >= 1.45), so
// while the loop's iterations are long (overload: every socket with a request waiting is served
// in one) connections wait in the accept queue for seconds: the overload bench's 600 clients
// waited up to 4.3 s there on Node 20 before the service saw their first request. So the API
// accepts on its port through several listeners in this one process, each accepting one
// connection per iteration and handing it to the one HTTP server:
// - `reusePort` (Node >= 22.12 on 22, >= 23.1; Linux, FreeBSD): each listener its own socket
//   on the port, the kernel spreading new connections over them;
// - `shared` (Node 20 and 22 before 22.12, on Linux): the extra listeners are the main socket's
//   file descriptor duplicated, so they take connections from its one accept queue. Node has no
//   dup(), so a helper process does it: the listening handle goes to it over IPC and comes back
//   (each passage is a new descriptor of the same socket, as cluster's workers get theirs); the
//   helper never listens on it, and exits at once. Should that fail, the API keeps its one
//   listener and says why.
// - `single` elsewhere: one listener, as Node gives it.
import { spawn } from 'node:child_process';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server } from 'node:http';

/** Listeners of the API's port in one process, where the runtime allows more than one. */
export const ACCEPT_LISTENERS = 16;

export type AcceptListenerMode = 'reusePort' | 'shared' | 'single';

/** Whether this Node's `server.listen` takes `reusePort` (22.12+ on the 22 line, 23.1+). */
export function supportsReusePort(version: string = process.versions.node, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux' && platform !== 'freebsd') return false;
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** How the port's extra listeners are made here (see the top of this file). */
export function acceptListenerMode(version?: string, platform: NodeJS.Platform = process.platform): AcceptListenerMode {
  if (supportsReusePort(version, platform)) return 'reusePort';
  return platform === 'linux' ? 'shared' : 'single';
}

/** How many listeners the API's port gets: `wanted` (HTTP_ACCEPT_LISTENERS) where the runtime allows several, else 1. */
export function acceptListenerCount(wanted: number = ACCEPT_LISTENERS, version?: string, platform?: NodeJS.Platform): number {
  return acceptListenerMode(version, platform) === 'single' ? 1 : wanted;
}

/** Options for the main listener's listen(): `reusePort` where more sockets will share its port. */
export function mainListenOptions(count: number, mode: AcceptListenerMode = acceptListenerMode()): { reusePort?: boolean } {
  return count > 1 && mode === 'reusePort' ? { reusePort: true } : {};
}

export interface AcceptListenerOptions {
  count: number;
  host: string;
  backlog: number;
  mode?: AcceptListenerMode;
  /** Told why the port keeps one listener when the extra ones could not be made (`shared` only). */
  onFallback?: (reason: string) => void;
}

/**
 * Adds `count - 1` listeners on the port `server` already listens on, each handing its
 * connections to `server`: new sockets with `reusePort`, or (`shared`) the server's own socket
 * through duplicated descriptors. They stop listening when `server.close()` is called (at the
 * start of its drain, so no new connection comes in through them); the returned function closes
 * them too.
 */
export async function addAcceptListeners(server: Server, options: AcceptListenerOptions): Promise<() => Promise<void>> {
  const address = server.address();
  const mode = options.mode ?? acceptListenerMode();
  if (options.count <= 1 || mode === 'single' || typeof address !== 'object' || !address) return async () => {};
  const extras: NetServer[] = [];
  try {
    if (mode === 'reusePort') {
      for (let index = 1; index < options.count; index++) {
        const extra = createServer(handOverTo(server));
        extras.push(extra);
        await listenOn(extra, { port: address.port, host: options.host, backlog: options.backlog, reusePort: true });
      }
    } else {
      const handles = await duplicateListeningHandle(server, options.count - 1).catch((error: Error) => {
        options.onFallback?.(`the API keeps one listener on its port: ${error.message}`);
        return [];
      });
      for (const handle of handles) {
        const extra = createServer(handOverTo(server));
        extras.push(extra);
        // The backlog again, as listen()'s own argument (a handle's options object has none):
        // listen() on a listening socket sets its backlog, to 511 if omitted.
        await listenOn(extra, handle, options.backlog);
      }
    }
  } catch (error) {
    await closeAll(extras);
    throw error;
  }
  const closeServer = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    void closeAll(extras);
    return closeServer(callback);
  }) as Server['close'];
  return () => closeAll(extras);
}

function listenOn(server: NetServer, ...args: [options: Record<string, unknown>] | [handle: object, backlog: number]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve();
    };
    if (args.length === 1) server.listen(args[0] as Parameters<NetServer['listen']>[0], listening);
    else server.listen(args[0], args[1], listening);
  });
}

/** The helper: sends back every handle it is sent, and is gone once its parent lets go. */
const ECHO_HANDLES = "process.on('message',(m,h)=>process.send(m,h));process.on('disconnect',()=>process.exit(0))";
const HELPER_TIMEOUT_MS = 5_000;

/**
 * `count` new descriptors of the socket `server` listens on, as raw TCP handles (not listening
 * in node yet): the server's handle sent to a helper process and back, `count` times. Node sends
 * a raw handle (what cluster passes) without listening on it at either end.
 */
export function duplicateListeningHandle(server: NetServer, count: number): Promise<object[]> {
  const handle = (server as unknown as { _handle?: object | null })._handle;
  if (!handle) return Promise.reject(new Error('the server has no handle to share'));
  return new Promise((resolve, reject) => {
    // A bare node: the service's NODE_OPTIONS (preloads, profilers) are not the helper's.
    const helper = spawn(process.execPath, ['-e', ECHO_HANDLES], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, NODE_OPTIONS: '' } });
    const handles: object[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (helper.connected) helper.disconnect();
      if (error) {
        for (const received of handles) (received as { close?: () => void }).close?.();
        reject(error);
      } else resolve(handles);
    };
    const timer = setTimeout(() => finish(new Error(`its helper process did not hand the socket back within ${HELPER_TIMEOUT_MS} ms`)), HELPER_TIMEOUT_MS);
    timer.unref();
    helper.on('error', (error) => finish(new Error(`its helper process did not start (${error.message})`)));
    helper.on('exit', (code, signal) => finish(new Error(`its helper process exited (${signal ?? `code ${code}`}) before handing the socket back`)));
    helper.on('message', (_message, received) => {
      if (!received) return finish(new Error('its helper process sent a message without the socket'));
      handles.push(received);
      if (handles.length === count) finish();
    });
    helper.once('spawn', () => {
      for (let index = 0; index < count; index++) helper.send({ index }, handle as NetServer);
    });
  });
}

/**
 * What an extra listener does with a connection: the options the HTTP server's own listener
 * applies to what it accepts (node's http server: noDelay on by default) are not applied by a
 * plain net server, so Nagle is turned off here, else a response written in parts waits for the
 * client's delayed ACK (up to 40 ms on Linux); then the socket goes to the HTTP server.
 */
export function handOverTo(server: Server): (socket: Socket) => void {
  return (socket) => {
    socket.setNoDelay(true);
    server.emit('connection', socket);
  };
}

function closeAll(servers: NetServer[]): Promise<void> {
  return Promise.all(servers.map((extra) => new Promise<void>((resolve) => (extra.listening ? extra.close(() => resolve()) : resolve())))).then(() => undefined);
}
