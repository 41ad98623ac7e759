import { describe, expect, it } from 'vitest';
import { MessageQueue, type Message } from '../../../src/esdb-server/persistent/message-queue.js';
import type { ResolvedEvent } from '../../../src/esdb-server/log/types.js';

const message = (seq: number): Message => ({ event: {} as ResolvedEvent, id: `m${seq}`, retryCount: 0, seq, key: seq, prevKey: undefined });

function queueOf(...seqs: number[]): MessageQueue {
  const queue = new MessageQueue();
  for (const seq of seqs) queue.push(message(seq));
  return queue;
}

function drainAll(queue: MessageQueue): number[] {
  const seqs: number[] = [];
  for (let next = queue.shift(); next; next = queue.shift()) seqs.push(next.seq!);
  return seqs;
}

describe('MessageQueue.retain', () => {
  it('drops only the messages keep refuses and keeps the others in order', () => {
    const queue = queueOf(1, 2, 3, 4, 5);
    queue.shift();
    queue.retain((m) => m.seq! % 2 === 1);
    expect(drainAll(queue)).toEqual([3, 5]);
  });

  it('keeps every message after stop says so without looking at them', () => {
    const queue = queueOf(1, 2, 3, 4, 5);
    const seen: number[] = [];
    queue.retain(
      (m) => {
        seen.push(m.seq!);
        return m.seq !== 2;
      },
      () => seen.length === 3,
    );
    expect(seen).toEqual([1, 2, 3]);
    expect(drainAll(queue)).toEqual([1, 3, 4, 5]);
  });

  it('leaves the queue as it was when nothing is dropped', () => {
    const queue = queueOf(1, 2, 3);
    queue.shift();
    queue.retain(() => true);
    expect(queue.size).toBe(2);
    expect(drainAll(queue)).toEqual([2, 3]);
  });
});
