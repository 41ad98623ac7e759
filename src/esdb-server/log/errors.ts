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
