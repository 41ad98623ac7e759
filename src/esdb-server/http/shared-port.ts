// One port for gRPC and HTTP/1.1, as EventStoreDB serves them on 2113: the listener reads the
// first bytes a client sends on each connection. The HTTP/2 connection preface ("PRI * HTTP/2.0")
// goes to grpc-js through its connection injector (the socket is handed over once; grpc-js then
// reads it directly, so gRPC pays nothing per call); anything else goes to the HTTP/1.1 server.
// A secured store (`tls` given) takes a TLS ClientHello (first byte 0x16, a handshake record) too:
// node terminates TLS and routes by ALPN, `h2` to grpc-js and `http/1.1` (or none) to the HTTP
// server, so gRPC over TLS and HTTPS share the port; plaintext HTTP/2 (an insecure gRPC client)
// is then refused, and plaintext HTTP/1.1 still reaches the HTTP side (the UI on loopback),
// which asks for credentials there.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as HttpServer } from 'node:http';
import type { ConnectionInjector } from '@grpc/grpc-js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Bytes needed to tell the preface from an HTTP/1.1 request line ("PRI " is no HTTP/1.1 method). */
const SNIFF_BYTES = 4;
/** The first byte of a TLS record carrying a handshake message (a ClientHello). */
const TLS_HANDSHAKE = 0x16;
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
  /** Set: TLS is served (and required for gRPC) with this certificate and key (PEM). */
  tls?: { cert: string; key: string } | undefined;
}

export async function listenSharedPort(options: SharedPortOptions): Promise<SharedPort> {
  const undecided = new Set<Socket>();
  const httpSockets = new Set<Socket>();
  const toHttp = (socket: Socket) => {
    httpSockets.add(socket);
    socket.once('close', () => httpSockets.delete(socket));
    options.http!.emit('connection', socket);
  };
  // TLS is terminated by a tls.Server that never listens: each sniffed socket is handed to it
  // (the TLSSocket it makes takes over the socket's handle and replays the ClientHello already
  // read); once the handshake is done, ALPN says which side gets the decrypted stream.
  const tlsServer = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, ALPNProtocols: options.http ? ['h2', 'http/1.1'] : ['h2'], handshakeTimeout: FIRST_BYTES_TIMEOUT_MS }, (secure) => {
        if (secure.alpnProtocol === 'h2') options.grpc.injectConnection(secure);
        else if (options.http) toHttp(secure);
        else secure.destroy();
      })
    : undefined;
  tlsServer?.on('tlsClientError', (_error, secure) => secure.destroy());
  // Raw sockets under TLS, so close() ends those still in their handshake too.
  const tlsSockets = new Set<Socket>();
  const startTls = (socket: Socket) => {
    tlsSockets.add(socket);
    socket.once('close', () => tlsSockets.delete(socket));
    tlsServer!.emit('connection', socket);
    process.nextTick(() => socket.resume());
  };
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
      if (options.tls && received[0] === TLS_HANDSHAKE) return startTls(socket);
      if (isPreface && !options.tls) options.grpc.injectConnection(socket);
      else if (!isPreface && options.http) toHttp(socket);
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
      for (const socket of [...undecided, ...httpSockets, ...tlsSockets]) socket.destroy();
      undecided.clear();
      httpSockets.clear();
      tlsSockets.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
