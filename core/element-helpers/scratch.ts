/**
 * Reusable per-element scratch columns: hot paths need a per-packet port or keep column on
 * every batch, and allocating one per batch would be garbage on every tick.
 */
export class ScratchInt32 {
  private buf = new Int32Array(0);

  /** A column of at least `n` items; contents are stale, the caller writes every item it reads. */
  get(n: number): Int32Array {
    if (this.buf.length < n) this.buf = new Int32Array(Math.max(n, this.buf.length * 2, 64));
    return this.buf;
  }
}
