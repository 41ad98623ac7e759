import type { StreamMetadataValues } from './types.js';

/** Reads the system keys of a `$metadata` event's JSON ($maxCount, $maxAge, $tb, ...). */
export function parseStreamMetadata(data: Uint8Array): StreamMetadataValues {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const record = parsed as Record<string, unknown>;
  const values: StreamMetadataValues = {};
  const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined);
  values.maxCount = count(record.$maxCount);
  values.maxAge = count(record.$maxAge);
  values.truncateBefore = count(record.$tb);
  values.cacheControl = count(record.$cacheControl);
  values.acl = record.$acl;
  const custom = Object.fromEntries(Object.entries(record).filter(([key]) => !key.startsWith('$')));
  if (Object.keys(custom).length > 0) values.custom = custom;
  return values;
}

/** JSON of a metadata event: the given raw metadata with `$tb` set (used by soft delete). */
export function withTruncateBefore(raw: Uint8Array | undefined, truncateBefore: number): Uint8Array {
  let record: Record<string, unknown> = {};
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(raw).toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) record = parsed as Record<string, unknown>;
    } catch {
      // unreadable metadata is replaced
    }
  }
  return Buffer.from(JSON.stringify({ ...record, $tb: truncateBefore }), 'utf8');
}
