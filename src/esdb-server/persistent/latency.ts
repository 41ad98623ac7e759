// Push-to-ack latencies of one consumer for `extraStatistics`, reported under the keys
// EventStoreDB uses and the client knows (Mean, Median, Fastest, Quintile 1-5, 90%..99.9%,
// Highest), in ms.
// Only the most recent samples are kept so memory stays bounded.
const SAMPLES = 1024;

export class LatencyRecorder {
  private readonly samples: number[] = [];
  private next = 0;

  record(ms: number): void {
    if (this.samples.length < SAMPLES) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
  }

  measurements(): [string, number][] {
    if (this.samples.length === 0) return [];
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
    const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
    return [
      ['Mean', Math.round(mean)],
      ['Median', at(0.5)],
      ['Fastest', sorted[0]!],
      ['Quintile 1', at(0.2)],
      ['Quintile 2', at(0.4)],
      ['Quintile 3', at(0.6)],
      ['Quintile 4', at(0.8)],
      ['Quintile 5', at(1)],
      ['90%', at(0.9)],
      ['95%', at(0.95)],
      ['99%', at(0.99)],
      ['99.5%', at(0.995)],
      ['99.9%', at(0.999)],
      ['Highest', sorted[sorted.length - 1]!],
    ];
  }
}
