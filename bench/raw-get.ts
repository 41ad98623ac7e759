// A lean HTTP/1.1 GET client for open-loop read loads: keep-alive sockets, one request in flight
// on each, the request's bytes written as one string, the answer read up to its Content-Length.
// node:http's client (request objects, header validation, the agent's bookkeeping, a response
// stream per answer) cost the reads bench's generator 0.7-0.8 ms of CPU a read, as much as the
// API it measured, on the same two cores: this one is what the reads part and its bare baseline
// use, so that the load takes less of the machine it measures.
import { connect, type Socket } from 'node:net';

interface Pending {
  head: string;
  /** performance.now() when it was queued for a socket (none was free). */
  queuedAt?: number;
  resolve: (status: number) => void;
  reject: (error: Error) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private current: Pending | undefined;
  private status = 0;
  private bodyStart = -1;
  private length = 0;

  constructor(
    private readonly socket: Socket,
    private readonly done: (connection: Connection) => void,
    private readonly lost: (connection: Connection, error: Error) => void,
    private readonly waits: number[],
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  send(pending: Pending): void {
    this.current = pending;
    if (pending.queuedAt !== undefined) this.waits.push(performance.now() - pending.queuedAt);
    this.socket.write(pending.head);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.bodyStart < 0) {
      const end = this.buffered.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.buffered.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) return this.fail(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
      this.length = Number(length[1]);
      this.bodyStart = end + HEADER_END.length;
    }
    const answerEnd = this.bodyStart + this.length;
    if (this.buffered.length < answerEnd) return;
    const pending = this.current!;
    this.buffered = this.buffered.subarray(answerEnd);
    this.bodyStart = -1;
    this.current = undefined;
    pending.resolve(this.status);
    this.done(this);
  }

  private fail(error: Error): void {
    const pending = this.current;
    this.current = undefined;
    this.socket.destroy();
    pending?.reject(error);
    this.lost(this, error);
  }
}

/** GETs on up to `maxSockets` keep-alive connections to 127.0.0.1:`port`; each answers its status. */
export class RawGetClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Pending[] = [];
  private opening = 0;
  /** Connections opened so far, and how long each read that found no free socket waited for one (ms). */
  readonly stats = { opened: 0, waits: [] as number[] };

  constructor(
    private readonly port: number,
    private readonly apiKey: string,
    private readonly maxSockets = 64,
  ) {}

  get(path: string, extra: Record<string, string> = {}): Promise<number> {
    let head = `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${this.port}\r\nauthorization: Bearer ${this.apiKey}\r\n`;
    for (const [name, value] of Object.entries(extra)) head += `${name}: ${value}\r\n`;
    head += '\r\n';
    return new Promise((resolve, reject) => {
      const pending: Pending = { head, resolve, reject };
      const connection = this.idle.pop();
      if (connection) return connection.send(pending);
      pending.queuedAt = performance.now();
      this.waiting.push(pending);
      if (this.all.size + this.opening < this.maxSockets) this.open();
    });
  }

  close(): void {
    for (const connection of this.all) connection.close();
    for (const pending of this.waiting.splice(0)) pending.reject(new Error('the client was closed'));
  }

  private open(): void {
    this.opening++;
    this.stats.opened++;
    const socket = connect({ host: '127.0.0.1', port: this.port });
    const refused = (error: Error) => {
      this.opening--;
      for (const pending of this.waiting.splice(0)) pending.reject(error);
    };
    socket.once('error', refused);
    socket.once('connect', () => {
      socket.off('error', refused);
      this.opening--;
      const connection = new Connection(socket, (free) => this.free(free), (gone) => this.forget(gone), this.stats.waits);
      this.all.add(connection);
      this.free(connection);
    });
  }

  private forget(connection: Connection): void {
    this.all.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
  }

  private free(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) connection.send(next);
    else this.idle.push(connection);
  }
}
