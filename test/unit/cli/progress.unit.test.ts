import { describe, expect, it } from 'vitest';
import { renderProgressLine } from '../../../src/cli/progress.js';

describe('the replay progress line', () => {
  it('shows the share done, events, rate and the time left at that rate', () => {
    const line = renderProgressLine({ label: 'replay x', events: 50_000, fraction: 0.25, elapsedMs: 2_000 });
    expect(line).toContain(' 25%');
    expect(line).toContain('50,000 events');
    expect(line).toContain('25,000 events/s');
    expect(line).toContain('ETA 6.0s');
  });
});
