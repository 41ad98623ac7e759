// Node accepts one new connection per event-loop iteration and listener (libuv), so while
// the loop's iterations are long (overload: every socket with a request waiting is served in
// one) connections wait in the accept queue for seconds. Where the runtime can (`reusePort`:
// Node >= 22.12 on 22, >= 23.1; Linux, FreeBSD), the API listens on its port several times in
// this one process: the kernel spreads new connections over the listeners and each accepts one
// per iteration, handing it to the one HTTP server. Elsewhere (Node 20, which this service runs
// on today) it keeps its one listener, as before.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server } from 'node:http';

/** Listeners of the API's port in one process, where `reusePort` exists. */
export const ACCEPT_LISTENERS = 4;

/** Whether this Node's `server.listen` takes `reusePort` (22.12+ on the 22 line, 23.1+). */
export function supportsReusePort(version: string = process.versions.node, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux' && platform !== 'freebsd') return false;
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** How many listeners the API's port gets: ACCEPT_LISTENERS where `reusePort` exists, else 1. */
export function acceptListenerCount(version?: string, platform?: NodeJS.Platform): number {
  return supportsReusePort(version, platform) ? ACCEPT_LISTENERS : 1;
}

/** Options for the main listener's listen(): `reusePort` where more listeners will share its port. */
export function mainListenOptions(count: number): { reusePort?: boolean } {
  return count > 1 ? { reusePort: true } : {};
}

/**
 * Adds `count - 1` listeners on the port `server` already listens on (with `reusePort`), each
 * handing its connections to `server`. They stop listening when `server.close()` is called (at
 * the start of its drain, so no new connection comes in through them); the returned function
 * closes them too.
 */
export async function addAcceptListeners(server: Server, options: { count: number; host: string; backlog: number }): Promise<() => Promise<void>> {
  const address = server.address();
  if (options.count <= 1 || typeof address !== 'object' || !address) return async () => {};
  const extras: NetServer[] = [];
  try {
    for (let index = 1; index < options.count; index++) {
      const extra = createServer(handOverTo(server));
      extras.push(extra);
      await new Promise<void>((resolve, reject) => {
        extra.once('error', reject);
        extra.listen({ port: address.port, host: options.host, backlog: options.backlog, reusePort: true } as Parameters<NetServer['listen']>[0], () => {
          extra.off('error', reject);
          resolve();
        });
      });
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
