// Where a replay stops: a commit position in $all, or a time (the store's `created` of each
// event, so "as it was at 10:00" means what had been written by then).

export type ReplayUntil = { kind: 'position'; position: bigint } | { kind: 'time'; time: Date };

export class MalformedUntilError extends Error {
  constructor(readonly input: string) {
    super(`--until takes an ISO 8601 time (2026-01-31T12:00:00Z) or a commit position (12345 or C:12345/P:12345), got '${input}'`);
    this.name = 'MalformedUntilError';
  }
}

const POSITION = /^(?:\d+|C:(\d+)\/P:\d+)$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseUntil(input: string): ReplayUntil {
  const text = input.trim();
  const position = POSITION.exec(text);
  if (position) return { kind: 'position', position: BigInt(position[1] ?? text) };
  if (ISO_TIME.test(text)) {
    const time = new Date(text);
    if (!Number.isNaN(time.getTime())) return { kind: 'time', time };
  }
  throw new MalformedUntilError(input);
}

/** True when an event at `position`, written at `created`, is past the stop point. */
export function isPastUntil(until: ReplayUntil, position: bigint, created: Date): boolean {
  return until.kind === 'position' ? position > until.position : created.getTime() > until.time.getTime();
}

/** A file-name friendly label: `position-12345` or `2026-01-31T12-00-00.000Z`. */
export function untilLabel(until: ReplayUntil): string {
  return until.kind === 'position' ? `position-${until.position}` : until.time.toISOString().replace(/:/g, '-');
}
