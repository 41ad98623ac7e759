// Telling a lost read-model database apart from a failing statement: the first is retried
// (workers stop acking, the API answers 503), the second is the event's or the request's fault.

/**
 * The database (or its connection) went away: a connection error, the server shutting down or
 * ending the session (pg_terminate_backend), or refusing connections while it starts.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')) return true;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(message);
}
