import { describe, expect, it } from 'vitest';
import { requestDeadline } from '../../../src/api/plugins/load-shedding.js';

const readAtOnce = { backlogMs: 0, sinceReadableMs: 0 };

describe("a request's deadline", () => {
  it('is its budget from when fastify first saw it, less a hold it waited through', () => {
    expect(requestDeadline(2_000, 10_000, readAtOnce, 0, 0)).toBe(12_000);
    expect(requestDeadline(2_000, 10_000, readAtOnce, 250, 0)).toBe(11_750);
  });

  it("for a connection's first request, starts when it joined the accept queue", () => {
    expect(requestDeadline(2_000, 10_000, { backlogMs: 300, sinceReadableMs: 0 }, 0, 0)).toBe(11_700);
  });

  it('charges the time it may have waited unread as far as the loop was busy: a long turn, not a client that sent late', () => {
    // Read 400 ms after its accept (or its connection's last answer) while the loop's turns were 350 ms: 350 of it charged.
    expect(requestDeadline(2_000, 10_000, { backlogMs: 100, sinceReadableMs: 400 }, 0, 350)).toBe(11_550);
    // Read 5 s after on an idle loop: the client sent late, nothing charged.
    expect(requestDeadline(2_000, 10_000, { backlogMs: 0, sinceReadableMs: 5_000 }, 0, 2)).toBe(11_998);
  });

  it('counts a hold and the unread wait after the same answer once, the longer of the two', () => {
    expect(requestDeadline(2_000, 10_000, { backlogMs: 0, sinceReadableMs: 300 }, 250, 400)).toBe(11_700);
    expect(requestDeadline(2_000, 10_000, { backlogMs: 0, sinceReadableMs: 300 }, 500, 400)).toBe(11_500);
  });
});
