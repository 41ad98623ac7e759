export class StreamDeletedError extends Error {
  constructor(readonly stream: string) {
    super(`Stream '${stream}' is deleted.`);
    this.name = 'StreamDeletedError';
  }
}

export class MaximumAppendSizeExceededError extends Error {
  constructor(readonly maxAppendSize: number) {
    super(`Maximum append size of ${maxAppendSize} exceeded.`);
    this.name = 'MaximumAppendSizeExceededError';
  }
}

/** Streams written by the system projections ($ce-, $et-, $bc-, $streams) take no client appends. */
export class AccessDeniedError extends Error {
  constructor(readonly stream: string) {
    super(`Access to stream '${stream}' is denied: it is written by a system projection.`);
    this.name = 'AccessDeniedError';
  }
}
