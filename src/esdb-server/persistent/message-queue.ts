// A FIFO with O(1) take from the front, plus ordered insertion for retries (lowest read
// sequence first, parked replays last), so redelivery keeps the source's order. It counts the
// bytes of event data it holds, for the group's read-ahead bound by size (subscription-group.ts).
import type { ResolvedEvent } from '../log/types.js';
import { resolvedEventBytes } from '../log/event-bytes.js';

export interface Message {
  event: ResolvedEvent;
  /** What the client acks: the link's id for a link, else the event's. */
  id: string;
  retryCount: number;
  /** Read order in the source; undefined for a parked message handed back by a replay. */
  seq: number | undefined;
  /** Revision (stream source) or position ($all) in the source. */
  key: number;
  /** The checkpoint that is safe once everything before this message is done. */
  prevKey: number | undefined;
}

export class MessageQueue {
  private items: (Message | undefined)[] = [];
  private head = 0;
  private heldBytes = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** Bytes of event data and metadata of the messages queued (messageBytes of each). */
  get bytes(): number {
    return this.heldBytes;
  }

  push(message: Message): void {
    this.items.push(message);
    this.heldBytes += messageBytes(message);
  }

  /** Inserts keeping the queue ordered by read sequence (replays, without one, go last). */
  insertOrdered(message: Message): void {
    const rank = message.seq ?? Number.MAX_SAFE_INTEGER;
    let index = this.items.length;
    while (index > this.head && (this.items[index - 1]!.seq ?? Number.MAX_SAFE_INTEGER) > rank) index--;
    this.items.splice(index, 0, message);
    this.heldBytes += messageBytes(message);
  }

  peek(): Message | undefined {
    return this.items[this.head];
  }

  shift(): Message | undefined {
    if (this.head >= this.items.length) return undefined;
    const message = this.items[this.head];
    this.items[this.head++] = undefined;
    this.heldBytes -= messageBytes(message!);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  /**
   * Keeps only the messages `keep` says yes to; for strategies that skip messages. Once `stop`
   * says so the rest is kept unseen; the array is copied only from the first message dropped
   * (a dispatch to full consumers drops none, and runs on every batch of acks).
   */
  retain(keep: (message: Message) => boolean, stop: () => boolean = () => false): void {
    let kept: Message[] | undefined;
    let i = this.head;
    for (; i < this.items.length && !stop(); i++) {
      const message = this.items[i]!;
      if (keep(message)) kept?.push(message);
      else {
        kept ??= this.items.slice(this.head, i) as Message[];
        this.heldBytes -= messageBytes(message);
      }
    }
    if (!kept) return;
    for (; i < this.items.length; i++) kept.push(this.items[i]!);
    this.items = kept;
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.heldBytes = 0;
  }
}

/** What a message's event holds in memory: its data and metadata (and its link's, if any). */
export function messageBytes(message: Message): number {
  return resolvedEventBytes(message.event);
}
