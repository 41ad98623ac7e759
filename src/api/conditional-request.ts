// If-Match: `"7"`, `7` or `W/"7"` name a stream revision; `*` means any (no condition).
import { ApiError } from './error-registry.js';

export function expectedRevisionFrom(ifMatch: string | undefined): bigint | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,19})"?\s*$/.exec(ifMatch);
  if (!match?.[1]) throw new ApiError('PRECONDITION_FAILED', `If-Match '${ifMatch}' names no revision of this order`);
  return BigInt(match[1]);
}
