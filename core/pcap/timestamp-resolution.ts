/**
 * pcapng timestamps: a 64-bit tick count (two 32-bit halves) in units of the interface's
 * if_tsresol (10^-n or 2^-n seconds), turned into whole seconds and nanoseconds exactly.
 *
 * Nanosecond ticks since 1970 exceed 2^53, so `hi * 2^32 + lo` in a double would round. For
 * resolutions dividing 10^9 (all decimal ones up to ns, and 2^-1..2^-9) the division is done as
 * long division in base 2^16 with every intermediate below 2^49, exact in doubles and free of
 * allocation. Finer or odd resolutions take a BigInt path (rare in practice).
 */

export class TimestampResolution {
  /** Ticks per second. */
  readonly ticksPerSec: number;
  /** Nanoseconds per tick when that is an integer (fast path), else 0. */
  readonly nsecPerTick: number;
  private readonly bigTicks: bigint;

  /** From the if_tsresol option byte (default 6: microseconds). */
  constructor(tsresol = 6) {
    const exp = tsresol & 0x7f;
    const binary = (tsresol & 0x80) !== 0;
    this.bigTicks = binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
    this.ticksPerSec = Number(this.bigTicks);
    this.nsecPerTick = this.bigTicks <= 1_000_000_000n && 1_000_000_000n % this.bigTicks === 0n ? Number(1_000_000_000n / this.bigTicks) : 0;
  }

  /** Decimal digits after the second needed to show a tick (for summaries). */
  get precision(): number {
    return Math.ceil(Math.log10(this.ticksPerSec));
  }

  /** Seconds of `hi:lo` ticks; the nanoseconds are left in `this.nsec` (no object per call). */
  nsec = 0;
  seconds(hi: number, lo: number): number {
    const nsPerTick = this.nsecPerTick;
    if (nsPerTick !== 0) {
      const r = this.ticksPerSec;
      const qh = Math.floor(hi / r);
      const rh = hi - qh * r;
      const t1 = rh * 65536 + (lo >>> 16);
      const q1 = Math.floor(t1 / r);
      const t2 = (t1 - q1 * r) * 65536 + (lo & 0xffff);
      const q2 = Math.floor(t2 / r);
      this.nsec = (t2 - q2 * r) * nsPerTick;
      return qh * 4294967296 + q1 * 65536 + q2;
    }
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    const sec = ticks / this.bigTicks;
    this.nsec = Number(((ticks % this.bigTicks) * 1_000_000_000n) / this.bigTicks);
    return Number(sec);
  }
}
