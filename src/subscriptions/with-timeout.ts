// Bounds one handler call: aborts its signal and rejects with HandlerTimeoutError when it runs
// over. The handler's own work may still finish later; its writes check the signal first.
import { HandlerTimeoutError } from './errors.js';

export async function withTimeout<T>(
  handler: string,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new HandlerTimeoutError(handler, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    // Started synchronously, so handlers begin in delivery order.
    return await Promise.race([(async () => run(controller.signal))(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
