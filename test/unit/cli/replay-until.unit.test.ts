import { describe, expect, it } from 'vitest';
import { isPastUntil, MalformedUntilError, parseUntil, untilLabel } from '../../../src/replay/until.js';

describe('--until', () => {
  it('takes a commit position, plain or as EventStoreDB prints it', () => {
    expect(parseUntil('12345')).toEqual({ kind: 'position', position: 12345n });
    expect(parseUntil('C:12345/P:12340')).toEqual({ kind: 'position', position: 12345n });
  });

  it('takes an ISO 8601 time or date', () => {
    expect(parseUntil('2026-01-31T12:00:00Z')).toEqual({ kind: 'time', time: new Date('2026-01-31T12:00:00Z') });
    expect(parseUntil('2026-01-31')).toEqual({ kind: 'time', time: new Date('2026-01-31T00:00:00Z') });
  });

  it.each(['yesterday', '', '12.5', '-3', 'C:1', '2026-13-45', '2026-01-31T25:00:00Z'])('refuses %j', (input) => {
    expect(() => parseUntil(input)).toThrow(MalformedUntilError);
  });

  it('includes the event at the position and the events written at the time, not after', () => {
    const at = parseUntil('100');
    expect(isPastUntil(at, 100n, new Date())).toBe(false);
    expect(isPastUntil(at, 101n, new Date())).toBe(true);
    const time = parseUntil('2026-01-31T12:00:00Z');
    expect(isPastUntil(time, 5n, new Date('2026-01-31T12:00:00Z'))).toBe(false);
    expect(isPastUntil(time, 5n, new Date('2026-01-31T12:00:00.001Z'))).toBe(true);
  });

  it('names the output file after the stop point', () => {
    expect(untilLabel(parseUntil('42'))).toBe('position-42');
    expect(untilLabel(parseUntil('2026-01-31T12:00:00Z'))).toBe('2026-01-31T12-00-00.000Z');
  });
});
