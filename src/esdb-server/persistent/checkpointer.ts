// When a group writes its checkpoint, by EventStoreDB's rule: at most every checkPointAfter and
// only with at least checkPointLowerBound newly done messages, or at once when
// checkPointUpperBound is reached. Writes go one at a time, in order, so the last event of the
// checkpoint stream is always the newest checkpoint.
import type { EventLog } from '../log/types.js';
import { writeCheckpoint } from './checkpoint-store.js';
import type { EventSource, GroupSettings } from './definition.js';
import type { PendingWrites } from './pending-writes.js';

export interface CheckpointCandidate {
  /** Revision or position below and at which everything is done. */
  key: number;
  /** Read sequence of the message at `key`: how far the group got, in messages. */
  seq: number;
}

export class Checkpointer {
  private decidedKey: number | undefined;
  private decidedSeq = -1;
  private decidedAt = 0;
  private durable: number | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    private readonly stream: string,
    private readonly source: EventSource,
    private readonly settings: GroupSettings,
    private readonly writes: PendingWrites,
  ) {}

  /** The last checkpoint known to be durable. */
  get lastCheckpoint(): number | undefined {
    return this.durable;
  }

  /** Starts from a checkpoint read back from the log (sequence 0 is that checkpoint). */
  loaded(key: number): void {
    this.decidedKey = key;
    this.decidedSeq = 0;
    this.durable = key;
  }

  /** Writes `key` now, whatever the bounds (a start from `end` pinned down, a group stopping). */
  writeNow(key: number, seq: number): void {
    if (this.decidedKey !== undefined && key <= this.decidedKey) return;
    this.decide(key, seq);
  }

  consider(candidate: CheckpointCandidate | undefined, isTimeCheck: boolean): void {
    if (!candidate) return;
    if (this.decidedKey !== undefined && candidate.key <= this.decidedKey) return;
    const { checkPointAfterMs, checkPointLowerBound, checkPointUpperBound } = this.settings;
    const difference = candidate.seq - this.decidedSeq;
    const elapsed = Date.now() - this.decidedAt;
    if (elapsed < checkPointAfterMs && difference < checkPointUpperBound) return;
    if (!((difference >= checkPointLowerBound && isTimeCheck) || difference >= checkPointUpperBound)) return;
    this.decide(candidate.key, candidate.seq);
  }

  private decide(key: number, seq: number): void {
    this.decidedKey = key;
    this.decidedSeq = seq;
    this.decidedAt = Date.now();
    // Retried until durable (a full disk, say), unless a newer checkpoint was decided meanwhile:
    // that one, next in the chain, covers this one.
    const write = this.chain.then(async () => {
      await this.writes.retrying('checkpoint', () => writeCheckpoint(this.log, this.stream, this.source, key), () => this.decidedKey === key);
      if (this.durable === undefined || key > this.durable) this.durable = key;
    });
    this.chain = write.catch(() => undefined);
    this.writes.track(write);
  }
}
