// Writes to a server-streaming call without unbounded buffering: when grpc-js says its buffer is
// full (write() returns false) the next write waits for 'drain', so a slow reader slows the
// producer instead of growing the server's memory.
import type * as grpc from '@grpc/grpc-js';

type WritableCall<T> = grpc.ServerWritableStream<unknown, T> | grpc.ServerDuplexStream<unknown, T>;

export class CallWriter<T> {
  private ended = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly call: WritableCall<T>) {
    const stop = () => {
      this.ended = true;
      this.wakeAll();
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    call.on('drain', () => this.wakeAll());
  }

  /** False once the client went away or the call was ended. */
  get open(): boolean {
    return !this.ended && !this.call.cancelled && !this.call.writableEnded;
  }

  /** Resolves false when the call is no longer open (stop producing). */
  async write(message: T): Promise<boolean> {
    if (!this.open) return false;
    if (this.call.write(message)) return true;
    while (this.open && this.call.writableNeedDrain) await this.wait();
    return this.open;
  }

  end(): void {
    if (!this.open) return;
    this.ended = true;
    this.call.end();
    this.wakeAll();
  }

  /** Ends the call with an error status (the trailers carry EventStoreDB's exception keys). */
  fail(error: grpc.ServiceError | Error): void {
    if (!this.open) return;
    this.ended = true;
    this.call.emit('error', error);
    this.wakeAll();
  }

  /** Resolves at the next drain or end of the call, or when `wake()` is called. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  wakeAll(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
