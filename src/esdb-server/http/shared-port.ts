// One port for gRPC and HTTP/1.1, as EventStoreDB serves them on 2113: the listener reads the
// first bytes a client sends on each connection. The HTTP/2 connection preface ("PRI * HTTP/2.0")
// goes to grpc-js through its connection injector (the socket is handed over once; grpc-js then
// reads it directly, so gRPC pays nothing per call); anything else goes to the HTTP/1.1 server.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { ConnectionInjector } from '@grpc/grpc-js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Bytes needed to tell the preface from an HTTP/1.1 request line ("PRI " is no HTTP/1.1 method). */
const SNIFF_BYTES = 4;
/** A client that connects and sends nothing is closed after this long. */
const FIRST_BYTES_TIMEOUT_MS = 30_000;

export interface SharedPort {
  server: NetServer;
  port: number;
  /** Stops accepting and closes the HTTP/1.1 connections and those that have not said which protocol
   * they speak yet (gRPC's are grpc-js's to close); resolves once every connection is gone. */
  close(): Promise<void>;
}

export interface SharedPortOptions {
  host: string;
  port: number;
  grpc: ConnectionInjector;
  /** Undefined: the HTTP side is off, and a connection that is not HTTP/2 is closed. */
  http: HttpServer | undefined;
}

export async function listenSharedPort(options: SharedPortOptions): Promise<SharedPort> {
  const undecided = new Set<Socket>();
  const httpSockets = new Set<Socket>();
  const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    undecided.add(socket);
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTES_TIMEOUT_MS);
    timer.unref();
    const forget = () => {
      clearTimeout(timer);
      undecided.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = () => forget();
    const onClose = () => forget();
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const looked = Math.min(received.length, SNIFF_BYTES);
      const isPreface = received.subarray(0, looked).equals(PREFACE.subarray(0, looked));
      if (isPreface && received.length < SNIFF_BYTES) return;
      forget();
      socket.pause();
      socket.unshift(received);
      if (isPreface) options.grpc.injectConnection(socket);
      else if (options.http) {
        httpSockets.add(socket);
        socket.once('close', () => httpSockets.delete(socket));
        options.http.emit('connection', socket);
      }
      else {
        socket.destroy();
        return;
      }
      process.nextTick(() => socket.resume());
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : options.port);
    });
  });
  return {
    server,
    port,
    close() {
      for (const socket of [...undecided, ...httpSockets]) socket.destroy();
      undecided.clear();
      httpSockets.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
