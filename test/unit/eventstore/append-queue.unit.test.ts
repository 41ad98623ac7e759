import { describe, expect, it } from 'vitest';
import { AppendQueue, STREAM_APPENDS_PER_TURN } from '../../../src/eventstore/append-queue.js';

describe('the append queue', () => {
  it('counts appends from when they are sent until they are answered or fail', async () => {
    const queue = new AppendQueue();
    const answers: Array<(value: string) => void> = [];
    const failures: Array<(error: Error) => void> = [];
    const first = queue.track(() => new Promise<string>((resolve) => answers.push(resolve)));
    const second = queue.track(() => new Promise<string>((_, reject) => failures.push(reject)));
    expect(queue.waiting).toBe(2);
    answers[0]!('ok');
    expect(await first).toBe('ok');
    expect(queue.waiting).toBe(1);
    failures[0]!(new Error('refused'));
    await expect(second).rejects.toThrow('refused');
    expect(queue.waiting).toBe(0);
  });

  it('predicts the wait of a new append from the recent time per append and the appends ahead of it', () => {
    const queue = new AppendQueue();
    queue.note(100);
    queue.note(600);
    // Smoothed: a fifth of the way to the new sample.
    expect(queue.msPerAppend).toBe(200);
    void queue.track(() => new Promise(() => undefined));
    void queue.track(() => new Promise(() => undefined));
    expect(queue.predictedWaitMs()).toBe(2 * 200);
  });

  it('predicts from how long the oldest has waited unanswered, before any append has been answered', () => {
    let now = 0;
    const queue = new AppendQueue(() => now);
    void queue.track(() => new Promise(() => undefined));
    now = 500;
    void queue.track(() => new Promise(() => undefined));
    now = 1_500;
    expect(queue.predictedWaitMs()).toBe(2 * 1_500);
  });

  it('predicts no wait with nothing ahead, however slow the last appends were', () => {
    const queue = new AppendQueue();
    queue.note(30_000);
    expect(queue.predictedWaitMs()).toBe(0);
  });
});

describe("the append queue's prediction in long turns of the loop", () => {
  it('takes each append ahead as its share of a turn, however fast the last appends were', () => {
    let turnMs = 0;
    const queue = new AppendQueue(() => performance.now(), () => turnMs);
    queue.note(2);
    for (let sent = 0; sent < 10; sent++) void queue.track(() => new Promise(() => undefined));
    expect(queue.predictedWaitMs()).toBeLessThan(100);
    // The turns grew to 300 ms: the stream moves STREAM_APPENDS_PER_TURN appends a turn.
    turnMs = 300;
    expect(queue.predictedWaitMs()).toBe((10 * 300) / STREAM_APPENDS_PER_TURN);
  });
});
