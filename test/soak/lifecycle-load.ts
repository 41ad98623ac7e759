// Steady HTTP load of order lifecycles, each driven step by step by one of `concurrency` loops.
// A command whose answer was lost (the service died under it) or was a 5xx is ambiguous: the
// loop waits for the service, checks whether the command took effect, and retries it if not.
// Every 2xx is recorded: it is a promise the verification holds the store to.
import type { ServiceProcess } from './service-process.js';
import { randomOrderPlan, type OrderPlan, type PlanStep, type StepKind } from './order-plans.js';

export interface Ack {
  orderId: string;
  step: StepKind;
  correlationId: string;
  statusCode: number;
  /** The order's revision in the answer (its ETag). */
  revision: number;
  status: string;
  /** False for an idempotent replay (200 to a create or payment already recorded). */
  appended: boolean;
  appends: string[];
  paymentId?: string;
}

export interface LoadResult {
  plans: OrderPlan[];
  acks: Ack[];
  /** Every correlation id sent, acknowledged or not. */
  sentCorrelationIds: Set<string>;
  requests: number;
  /** Answers lost to a kill (connection reset or refused, timeout). */
  lostAnswers: number;
  /** 5xx answers, and 429s: refusals to retry, not errors of the soak. */
  serverErrors: number;
  /** Commands whose answer was lost but which took effect (seen on the order afterwards). */
  appliedWithoutAck: number;
  lifecyclesCompleted: number;
  /** Answers that make no sense for an order whose every acked command held. */
  violations: string[];
  seconds: number;
}

export interface LoadOptions {
  service: ServiceProcess;
  /** tenant -> API key */
  keys: ReadonlyMap<string, string>;
  concurrency: number;
  durationMs: number;
  requestTimeoutMs?: number;
}

/** An ambiguous command is retried after the load ends, but not forever. */
const GIVE_UP_AFTER_DEADLINE_MS = 30_000;

type Answer = { kind: 'answer'; status: number; body: Record<string, unknown> } | { kind: 'lost'; reason: string };

export async function runLifecycleLoad(options: LoadOptions): Promise<LoadResult> {
  const { service, keys } = options;
  const tenants = [...keys.keys()];
  const result: LoadResult = {
    plans: [],
    acks: [],
    sentCorrelationIds: new Set(),
    requests: 0,
    lostAnswers: 0,
    serverErrors: 0,
    appliedWithoutAck: 0,
    lifecyclesCompleted: 0,
    violations: [],
    seconds: 0,
  };
  const started = performance.now();
  const deadline = Date.now() + options.durationMs;
  let sequence = 0;

  async function send(plan: OrderPlan, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    const correlationId = `soak-${++sequence}-${plan.orderId.slice(0, 8)}`;
    result.sentCorrelationIds.add(correlationId);
    result.requests++;
    try {
      const response = await fetch(`${service.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${keys.get(plan.tenant)}`,
          'x-correlation-id': correlationId,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 15_000),
      });
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { raw: text.slice(0, 200) };
      }
      return { kind: 'answer', status: response.status, body: { ...parsed, correlationId } };
    } catch (error) {
      return { kind: 'lost', reason: error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error) };
    }
  }

  /** After an ambiguous answer: did the step take effect? Undefined when that cannot be told yet. */
  async function tookEffect(plan: OrderPlan, step: PlanStep): Promise<boolean | undefined> {
    const answer = await send(plan, 'GET', `/orders/${plan.orderId}`);
    if (answer.kind === 'lost' || answer.status >= 500) return undefined;
    if (answer.status === 404) return false;
    if (answer.status !== 200) return undefined;
    return answer.body.status === step.statusAfter;
  }

  async function runStep(plan: OrderPlan, step: PlanStep): Promise<boolean> {
    let ambiguous = false;
    for (;;) {
      if (Date.now() > deadline + GIVE_UP_AFTER_DEADLINE_MS) {
        result.violations.push(`order ${plan.orderId}: ${step.kind} got no usable answer until ${GIVE_UP_AFTER_DEADLINE_MS / 1000} s after the load`);
        return false;
      }
      await service.whenUp();
      const answer = await send(plan, 'POST', step.path, step.body);
      if (answer.kind === 'lost' || answer.status >= 500 || answer.status === 429) {
        if (answer.kind === 'lost') result.lostAnswers++;
        else result.serverErrors++;
        ambiguous = true;
        // Shed (503) or rate-limited (429): back off rather than add to the overload.
        await pause(answer.kind === 'answer' && (answer.status === 503 || answer.status === 429) ? 250 : 20);
        // Creates and payments are idempotent: the retry itself tells (201 or 200).
        if (step.kind !== 'create' && step.kind !== 'pay') {
          await service.whenUp();
          const done = await tookEffect(plan, step);
          if (done) {
            result.appliedWithoutAck++;
            return true;
          }
        }
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) {
        const appended = step.kind === 'create' || step.kind === 'pay' ? answer.status === 201 : true;
        result.acks.push({
          orderId: plan.orderId,
          step: step.kind,
          correlationId: String(answer.body.correlationId),
          statusCode: answer.status,
          revision: Number(answer.body.revision),
          status: String(answer.body.status),
          appended,
          appends: step.appends,
          ...(step.paymentId ? { paymentId: step.paymentId } : {}),
        });
        if (answer.body.status !== step.statusAfter) {
          result.violations.push(`order ${plan.orderId}: ${step.kind} answered ${answer.status} with status ${String(answer.body.status)}, expected ${step.statusAfter}`);
          return false;
        }
        return true;
      }
      if (ambiguous && (await tookEffect(plan, step))) {
        result.appliedWithoutAck++;
        return true;
      }
      result.violations.push(`order ${plan.orderId}: ${step.kind} answered ${answer.status} ${String(answer.body.code ?? '')} ${String(answer.body.detail ?? '')}`.trim());
      return false;
    }
  }

  async function loop(): Promise<void> {
    while (Date.now() < deadline) {
      const plan = randomOrderPlan(tenants);
      result.plans.push(plan);
      let completed = true;
      for (const step of plan.steps) {
        // A lifecycle cut by the end of the load stays as it is: a half-finished order is data too.
        if (Date.now() >= deadline || !(await runStep(plan, step))) {
          completed = false;
          break;
        }
      }
      if (completed) result.lifecyclesCompleted++;
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, () => loop()));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
