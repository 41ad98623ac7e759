// The store's local socket: a Unix domain socket, private to the user that runs the store, on
// which gRPC is served without TLS. The process that embeds the store (`npm start`) talks to it
// there: the same protocol through the same client, without encrypting and decrypting every
// append, delivery and ack on its way between two threads of one process (the lifecycle bench:
// TLS was ~0.4 ms of CPU per command of npm start). Everything else (other processes, the CLI,
// the UI) still reaches the store on its TCP port, secured as before.
//
// Who may connect: the socket is made 0600 inside a 0700 directory (the data directory, or a
// private temporary one when that path is too long for a socket or the store is in memory), so
// only the store's own OS user, who can read the admin password in the data directory anyway. A
// caller there acts as `admin` (while that user is enabled) unless it sends credentials of its
// own, which are checked as on the port. Not on Windows (no socket files there): the embedding
// process then connects on the port, as any other.
import { chmodSync, lstatSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Authentication, Authenticator } from './auth/authenticate.js';
import { PRIVATE_FILE_MODE } from './auth/file-permissions.js';
import type { Principal } from './auth/principal.js';
import type { ServiceModule } from './grpc/service-module.js';

export const LOCAL_SOCKET_NAME = 'eventstore.sock';
/** sun_path holds 108 bytes on Linux, 104 on macOS; a longer path cannot be bound. */
const MAX_SOCKET_PATH = 100;

export interface LocalSocket {
  /** The gRPC target a client connects to: `unix:<path>`. */
  readonly endpoint: string;
  readonly path: string;
  close(): Promise<void>;
}

/** Where the socket goes: in the data directory when its path fits, else in a private temporary directory. */
export function localSocketPlace(dataDir: string | undefined): { path: string; ownDirectory: string | undefined } {
  const inDataDir = dataDir ? join(dataDir, LOCAL_SOCKET_NAME) : undefined;
  if (inDataDir && Buffer.byteLength(inDataDir) <= MAX_SOCKET_PATH) return { path: inDataDir, ownDirectory: undefined };
  // mkdtemp makes it 0700.
  const ownDirectory = mkdtempSync(join(tmpdir(), 'esdb-'));
  return { path: join(ownDirectory, LOCAL_SOCKET_NAME), ownDirectory };
}

/** True where the store can offer a local socket. */
export function localSocketSupported(): boolean {
  return process.platform !== 'win32';
}

/** Listens on the socket and hands every connection to grpc-js (plain HTTP/2: no TLS on it). */
export async function listenLocalSocket(dataDir: string | undefined, grpc: grpc.ConnectionInjector): Promise<LocalSocket> {
  const { path, ownDirectory } = localSocketPlace(dataDir);
  removeStaleSocket(path);
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    grpc.injectConnection(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, PRIVATE_FILE_MODE);
  } catch (error) {
    server.close();
    if (ownDirectory) rmSync(ownDirectory, { recursive: true, force: true });
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    endpoint: `unix:${path}`,
    path,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }).then(() => {
        removeStaleSocket(path);
        if (ownDirectory) rmSync(ownDirectory, { recursive: true, force: true });
      });
      return closed;
    },
  };
}

/** A socket file left by a store killed before it could remove it (the data directory's lock is ours now). */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Authentication on the local socket: credentials sent are checked as on the port; none (what
 * the client sends on a channel without TLS) act as the `admin` user while it exists and is
 * enabled, else the call is refused as an anonymous one.
 */
export function localSocketAuthenticator(port: Authenticator, admin: () => Principal | undefined): Authenticator {
  return {
    secured: port.secured,
    authenticate(authorization): Promise<Authentication> {
      if (!port.secured || (authorization !== undefined && authorization !== '')) return port.authenticate(authorization);
      const principal = admin();
      return Promise.resolve(principal ? { kind: 'user', principal } : { kind: 'anonymous' });
    },
  };
}

/**
 * The module with every call answering `getPeer()` with `peer()`: grpc-js has no address for a
 * connection on a Unix socket ("unknown"), and the store's UI shows a group's connections by
 * where they come from. The embedding process's connections then read as the socket they use.
 */
export function reportingPeer(module: ServiceModule, peer: () => string): ServiceModule {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(module.implementation)) {
    implementation[name] = ((call: { getPeer(): string }, ...rest: unknown[]) => {
      call.getPeer = peer;
      return (handler as (...args: unknown[]) => unknown)(call, ...rest);
    }) as grpc.UntypedHandleCall;
  }
  return { ...module, implementation };
}
