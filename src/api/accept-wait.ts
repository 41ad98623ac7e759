// How long a new connection waited in the kernel's accept queue before the API took it: time
// the client counts and the latency budget did not see. Node 20 accepts one connection per
// event-loop iteration, so in a burst of new clients the last of them wait seconds there before
// fastify sees their request (the overload bench's quiet run: 1,530 of 3,000 large creates
// served at p50 9 s, almost all of it before the service's Server-Timing started). With this
// estimate a connection's first request starts its budget when it joined the queue, so what
// is already late is answered 503 at once, before its body is parsed.
//
// The estimate, FIFO: the listener's accept queue is as deep as the kernel says (Linux,
// /proc/net/tcp(6): a listener's rx_queue), so the connections that have arrived by a moment
// are those accepted by then plus those queued. Sampled every `everyMs` while connections come
// in; the n-th connection accepted arrived before the first sample that had n arrivals, so it
// waited at least from that sample to its accept. Elsewhere (no /proc) the wait counts as 0.
import { open } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';

interface Sample {
  at: number;
  arrived: number;
}

export interface AcceptWait {
  /**
   * For a connection's first request only (then forgotten): how long it waited to be accepted
   * (estimated) and from its accept to now, ms; undefined for a later request on it, or a socket
   * this server did not accept.
   */
  takeFirst(socket: Socket | null | undefined): { backlogMs: number; sinceAcceptMs: number } | undefined;
  stop(): void;
}

/** The samples kept: the longest wait that can be estimated is this many x everyMs. */
const SAMPLES_KEPT = 600;
/** Sampling stops once no connection came for this long. */
const IDLE_MS = 2_000;

/** Reads the accept-queue depths of the listeners on `port` (summed: reusePort gives several). */
export type QueueDepthReader = (port: number) => Promise<number | undefined>;

export function watchAcceptWait(server: Server, options: { everyMs?: number; readDepth?: QueueDepthReader; now?: () => number } = {}): AcceptWait {
  const everyMs = options.everyMs ?? 50;
  const readDepth = options.readDepth ?? procAcceptQueueDepth;
  const now = options.now ?? (() => performance.now());
  const samples: Sample[] = [];
  const accepted = new WeakMap<Socket, { at: number; backlogMs: number }>();
  let count = 0;
  let lastConnectionAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let reading = false;
  let supported = true;

  const sample = async () => {
    if (reading) return;
    if (now() - lastConnectionAt > IDLE_MS) return stopSampling();
    const address = server.address();
    if (typeof address !== 'object' || !address) return;
    reading = true;
    // Counted before the read: a connection accepted while it runs is in neither figure, so the
    // sample errs low (a shorter wait), as does stamping it when the read is done.
    const acceptedBefore = count;
    try {
      const depth = await readDepth(address.port);
      if (depth === undefined) {
        supported = false;
        return stopSampling();
      }
      samples.push({ at: now(), arrived: acceptedBefore + depth });
      if (samples.length > SAMPLES_KEPT) samples.splice(0, samples.length - SAMPLES_KEPT);
    } catch {
      // An estimate, never a failure of the API: without it no wait is seen.
      supported = false;
      stopSampling();
    } finally {
      reading = false;
    }
  };
  const stopSampling = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const onConnection = (socket: Socket) => {
    const at = now();
    count++;
    lastConnectionAt = at;
    accepted.set(socket, { at, backlogMs: backlogOf(samples, count, at) });
    if (!timer && supported) {
      timer = setInterval(() => void sample(), everyMs);
      timer.unref();
      void sample();
    }
  };
  server.on('connection', onConnection);
  return {
    takeFirst(socket) {
      const entry = socket ? accepted.get(socket) : undefined;
      if (!entry) return undefined;
      accepted.delete(socket!);
      return { backlogMs: entry.backlogMs, sinceAcceptMs: now() - entry.at };
    },
    stop() {
      stopSampling();
      server.off('connection', onConnection);
    },
  };
}

/**
 * The wait of the `n`-th connection accepted, at `at`: from the first sample by which n had
 * arrived (accepted + queued) to `at`; 0 when none had yet (it arrived since the last sample).
 */
export function backlogOf(samples: readonly Sample[], n: number, at: number): number {
  let low = 0;
  let high = samples.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (samples[middle]!.arrived >= n) high = middle;
    else low = middle + 1;
  }
  return low < samples.length ? Math.max(0, at - samples[low]!.at) : 0;
}

/**
 * The accept queues of the listeners on `port` (Linux: the kernel lists listening sockets first
 * in /proc/net/tcp and tcp6, each with its accept queue as rx_queue), summed; undefined where
 * there is no such file. Reads the start only (through the thread pool, not the main thread).
 */
export async function procAcceptQueueDepth(port: number): Promise<number | undefined> {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let depth = 0;
  let found = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = await listenerLines(file).catch(() => undefined);
    if (!lines) continue;
    found = true;
    for (const fields of lines) if (fields[1]?.endsWith(portHex)) depth += Number.parseInt(fields[4]!.split(':')[1]!, 16) || 0;
  }
  return found ? depth : undefined;
}

const CHUNK_BYTES = 16_384;

/** The listeners' lines (split in fields: sl local_address rem_address st tx_queue:rx_queue ...; st 0A), read up to the first other socket. */
async function listenerLines(file: string): Promise<string[][]> {
  const handle = await open(file, 'r');
  try {
    const lines: string[][] = [];
    let rest = '';
    let header = true;
    for (;;) {
      const buffer = Buffer.alloc(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      const text = rest + buffer.subarray(0, bytesRead).toString('latin1');
      const complete = bytesRead === 0 ? text.split('\n') : text.split('\n').slice(0, -1);
      rest = bytesRead === 0 ? '' : text.slice(text.lastIndexOf('\n') + 1);
      for (const line of complete) {
        if (header) {
          header = false;
          continue;
        }
        const fields = line.trim().split(/\s+/);
        if (fields.length < 5) continue;
        if (fields[3] !== '0A') return lines;
        lines.push(fields);
      }
      if (bytesRead === 0) return lines;
    }
  } finally {
    await handle.close();
  }
}
