// API keys as the service keeps them in memory: the SHA-256 digest of each key, never the key
// itself, so a heap dump or a logged config object holds nothing a caller could replay.
import { createHash } from 'node:crypto';

export function digestApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** SHA-256 digest (hex) of each API key -> its tenantId. What the config keeps after parsing API_KEYS. */
export class HashedApiKeys extends Map<string, string> {
  static from(keys: Iterable<readonly [key: string, tenantId: string]>): HashedApiKeys {
    const hashed = new HashedApiKeys();
    for (const [key, tenantId] of keys) hashed.set(digestApiKey(key).toString('hex'), tenantId);
    return hashed;
  }
}
