/**
 * Batch latencies an element records (process call to outputs ready), so a migration can report
 * the delay it added: p50/p99 of the batches that ran while it did, against the batches before.
 * A bounded ring: an element records every batch for the whole run.
 */
const CAPACITY = 4096;

export class BatchLatencies {
  private readonly ring = new Float64Array(CAPACITY);
  /** Batches recorded since the start (the ring holds the last CAPACITY). */
  private count = 0;

  record(ms: number): void {
    this.ring[this.count % CAPACITY] = ms;
    this.count++;
  }

  /** A position to read from later (since()). */
  mark(): number {
    return this.count;
  }

  /** Latencies recorded since `mark` (at most the last CAPACITY). */
  since(mark: number): number[] {
    const from = Math.max(mark, this.count - CAPACITY, 0);
    const out: number[] = [];
    for (let i = from; i < this.count; i++) out.push(this.ring[i % CAPACITY]);
    return out;
  }

  /** The last `n` latencies (steady state before a migration). */
  last(n: number): number[] {
    return this.since(this.count - n);
  }
}

/** p-th percentile (nearest rank); NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
