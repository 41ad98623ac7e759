// What the HTTP benchmarks share: a keep-alive JSON POST (and GET) with a bearer key, percentiles, and the
// order lifecycle load (create -> pay -> ship on keep-alive connections) of the lifecycle and
// tracing benchmarks.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

export function postJson(agent: Agent, port: number, path: string, body: unknown, apiKey: string): Promise<Reply> {
  const payload = JSON.stringify(body);
  return send(agent, port, 'POST', path, apiKey, payload);
}

/** `extra`: more request headers (e.g. a sequence number a probe in the server joins on). */
export function getJson(agent: Agent, port: number, path: string, apiKey: string, extra: Record<string, string> = {}): Promise<Reply> {
  return send(agent, port, 'GET', path, apiKey, undefined, extra);
}

function send(agent: Agent, port: number, method: 'GET' | 'POST', path: string, apiKey: string, payload?: string, extra: Record<string, string> = {}): Promise<Reply> {
  const headers: Record<string, string | number> = { ...extra, authorization: `Bearer ${apiKey}` };
  if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The p-th percentile (0-100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One command of an order's life over HTTP, and the status it must answer. */
export interface LifecycleStep {
  path: string;
  body: unknown;
  expect: number;
}

/** create -> pay -> ship (-> deliver), with the same bodies in every benchmark and peer. */
export function orderLifecycle(orderId: string, { deliver = false }: { deliver?: boolean } = {}): LifecycleStep[] {
  return [
    {
      path: '/orders',
      body: { orderId, customer: { id: 'c-1', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }] },
      expect: 201,
    },
    { path: `/orders/${orderId}/payments`, body: { paymentId: `pay-${orderId}`, amount: 2500, method: 'card' }, expect: 201 },
    { path: `/orders/${orderId}/ship`, body: { carrier: 'DHL', trackingNumber: 'JD014600003' }, expect: 200 },
    ...(deliver ? [{ path: `/orders/${orderId}/deliver`, body: {}, expect: 200 }] : []),
  ];
}

export interface LifecycleLoad {
  commands: number;
  lifecycles: number;
  seconds: number;
  latenciesMs: number[];
  /** When the last response of the load arrived (performance.now()). */
  endedAt: number;
}

export interface LifecycleLoadOptions {
  port: number;
  seconds: number;
  connections: number;
  apiKey: string;
  /** Each answer's order, its revision and when it arrived (performance.now()). */
  onAnswer?: (orderId: string, revision: number, at: number) => void;
  /**
   * Paced: start this many lifecycles a second (on the free connections; late ones start at once)
   * instead of each connection's next one as soon as its last ended. The same offered load for
   * every setup, so CPU per command compares like with like on a machine whose speed varies.
   */
  lifecyclesPerSecond?: number;
}

/** Each of `connections` keep-alive connections runs order lifecycles back to back until `seconds` have passed. */
export async function driveLifecycles({ port, seconds, connections, apiKey, onAnswer, lifecyclesPerSecond }: LifecycleLoadOptions): Promise<LifecycleLoad> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latenciesMs: number[] = [];
  let lifecycles = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let tickets = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        if (lifecyclesPerSecond) {
          const due = started + (tickets++ * 1000) / lifecyclesPerSecond;
          if (due >= deadline) break;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        const orderId = randomUUID();
        for (const step of orderLifecycle(orderId)) {
          const sent = performance.now();
          const reply = await postJson(agent, port, step.path, step.body, apiKey);
          const at = performance.now();
          latenciesMs.push(at - sent);
          if (reply.status !== step.expect) throw new Error(`${step.path} answered ${reply.status}: ${reply.body}`);
          if (onAnswer) onAnswer(orderId, (JSON.parse(reply.body) as { revision: number }).revision, at);
        }
        lifecycles++;
      }
    }),
  );
  const endedAt = performance.now();
  agent.destroy();
  return { commands: latenciesMs.length, lifecycles, seconds: (endedAt - started) / 1000, latenciesMs, endedAt };
}
