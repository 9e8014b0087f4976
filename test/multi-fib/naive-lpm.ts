/**
 * A deliberately naive longest-prefix match: one Map per FIB keyed by (prefix, length),
 * probed from /32 down to /0. Nothing shared with the structure under test.
 */
export class NaiveLpm {
  private readonly fibs = new Map<number, Map<number, number>>();

  private table(fib: number): Map<number, number> {
    let t = this.fibs.get(fib);
    if (t === undefined) this.fibs.set(fib, (t = new Map()));
    return t;
  }

  static mask(len: number): number {
    return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  }

  set(fib: number, prefix: number, len: number, nh: number): void {
    this.table(fib).set(((prefix & NaiveLpm.mask(len)) >>> 0) * 64 + len, nh);
  }

  delete(fib: number, prefix: number, len: number): boolean {
    return this.table(fib).delete(((prefix & NaiveLpm.mask(len)) >>> 0) * 64 + len);
  }

  has(fib: number, prefix: number, len: number): boolean {
    return this.table(fib).has(((prefix & NaiveLpm.mask(len)) >>> 0) * 64 + len);
  }

  dropFib(fib: number): void {
    this.fibs.delete(fib);
  }

  /** Next hop of the longest matching prefix, or -1. */
  lookup(fib: number, address: number): number {
    const t = this.fibs.get(fib);
    if (t === undefined) return -1;
    for (let len = 32; len >= 0; len--) {
      const nh = t.get(((address & NaiveLpm.mask(len)) >>> 0) * 64 + len);
      if (nh !== undefined) return nh;
    }
    return -1;
  }

  /** Matched length too (for checking the logical form's answer). */
  match(fib: number, address: number): { len: number; nh: number } | null {
    const t = this.fibs.get(fib);
    if (t === undefined) return null;
    for (let len = 32; len >= 0; len--) {
      const nh = t.get(((address & NaiveLpm.mask(len)) >>> 0) * 64 + len);
      if (nh !== undefined) return { len, nh };
    }
    return null;
  }
}

/** A small deterministic PRNG (xorshift32) so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * Addresses worth asking about a set of routes: uniformly random ones, one inside each
 * sampled prefix, and each sampled prefix's first and last address and the neighbours outside.
 */
export function sampleAddresses(prefixes: ArrayLike<number>, lens: ArrayLike<number>, count: number, next: () => number): Int32Array {
  const out = new Int32Array(count);
  let i = 0;
  const n = prefixes.length;
  while (i < count) {
    const kind = next() & 7;
    if (kind < 2 || n === 0) out[i++] = next() | 0;
    else {
      const j = next() % n;
      const p = prefixes[j] >>> 0;
      const len = lens[j];
      const size = len === 0 ? 2 ** 32 : 2 ** (32 - len);
      const last = (p + size - 1) >>> 0;
      if (kind < 4) out[i++] = (p + (next() % size)) | 0;
      else if (kind === 4) out[i++] = p | 0;
      else if (kind === 5) out[i++] = last | 0;
      else if (kind === 6) out[i++] = (p - 1) | 0;
      else out[i++] = (last + 1) | 0;
    }
  }
  return out;
}
