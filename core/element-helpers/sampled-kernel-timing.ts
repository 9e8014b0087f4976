/**
 * Host time of an element's inline kernel runs (its `kernel_stats` entry and batch latencies),
 * measured on one batch in `every` instead of on every batch.
 *
 * Two clock reads per batch cost 0.2-0.6 us on a virtual machine's clock source: at batch 32
 * that was a tenth of the router's per-batch cost, for a figure nobody reads per batch. So one
 * batch in `every` is timed (the first batch always is), and the others add the timed batches'
 * mean time per item to `hostMs`: `batches` and `items` stay exact, `hostMs` is an estimate that
 * converges on the measured rate. An element times every batch when asked to (`always`: while a
 * migration is in progress, so the delay it reports covers every batch that ran during it).
 */
import type { KernelStatsEntry } from '../kernel-stats.js';

/** Batches per timed batch by default (IPLookup's manual says 16). */
export const TIMING_SAMPLE_EVERY = 16;

/** What `begin` returns for a batch that is not timed. */
const UNTIMED = -1;

export class SampledKernelTiming {
  /** Batches still to pass untimed before the next timed one (0: the next is timed). */
  private skip = 0;
  private timedMs = 0;
  private timedItems = 0;

  constructor(readonly every: number = TIMING_SAMPLE_EVERY) {
    if (!Number.isInteger(every) || every < 1) throw new Error(`SampledKernelTiming: every must be an integer >= 1, got ${every}`);
  }

  /** A start time when this batch is one to time (each `every`-th, or any with `always`); else UNTIMED. */
  begin(always: boolean): number {
    if (this.skip > 0 && !always) {
      this.skip--;
      return UNTIMED;
    }
    this.skip = this.every - 1;
    return performance.now();
  }

  /**
   * Count a batch of `items` into `entry`, with the time since `t0` (`begin`'s answer) when it
   * was timed, else the timed batches' mean per item. The measured ms, or -1 for an untimed batch.
   */
  end(entry: KernelStatsEntry, items: number, t0: number): number {
    entry.batches++;
    entry.items += items;
    if (t0 === UNTIMED) {
      if (this.timedItems > 0) entry.hostMs += items * (this.timedMs / this.timedItems);
      return -1;
    }
    const ms = performance.now() - t0;
    this.timedMs += ms;
    this.timedItems += items;
    entry.hostMs += ms;
    return ms;
  }
}
