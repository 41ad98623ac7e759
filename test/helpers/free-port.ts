import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port free on loopback right now, for child processes that need a port up front.
 *
 * The port is drawn from below the kernel's ephemeral range: a port the kernel handed out
 * (listen(0), or the local end of any outgoing connection of a parallel test) could be taken
 * again by the kernel between this check and the child's bind. Ports under the range are only
 * ever taken on purpose, so the window closes to the (tiny) chance that two test files draw the
 * same random port at the same moment.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10_000;
  const span = Math.max(1_000, low - floor);
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = floor + Math.floor(Math.random() * span);
    if (await isFree(candidate)) return candidate;
  }
  throw new Error('no free port found below the ephemeral range after 50 attempts');
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high && low > 11_000) return [low, high];
  } catch {
    // not Linux: fall through to the IANA default range
  }
  return [49_152, 65_535];
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
