/**
 * The logical form's route storage: every (fib, prefix, len) -> next-hop index.
 *
 * Routes of length 16..32 live in one bucket per /16 (what an image rebuild of that /16
 * reads), kept in ascending length order so painting them in order is leaf pushing.
 * A bucket entry is one int32 key `fib << 22 | low16 << 6 | len` plus a next-hop column.
 * Shorter routes (len 0..15, a few thousand in a full table) sit in one Map.
 */
import { maskOf } from '../../routes/ipv4.js';

/** FIB indices fit the 9 bits a bucket key gives them. */
export const MAX_FIBS = 512;


const shortKey = (fib: number, prefix: number, len: number): number => (fib * 4294967296 + prefix) * 16 + len;

export interface RouteRef {
  fib: number;
  prefix: number;
  len: number;
  nextHop: number;
}

export class RouteStore {
  readonly bucketN = new Int32Array(65536);
  readonly bucketKeys: (Int32Array | undefined)[] = new Array(65536).fill(undefined);
  readonly bucketNh: (Int32Array | undefined)[] = new Array(65536).fill(undefined);
  readonly short = new Map<number, number>();
  readonly count = new Int32Array(MAX_FIBS);

  get(fib: number, prefix: number, len: number): number {
    if (len < 16) return this.short.get(shortKey(fib, prefix, len)) ?? -1;
    const x = prefix >>> 16;
    const i = this.find(x, (fib << 22) | ((prefix & 0xffff) << 6) | len);
    return i < 0 ? -1 : this.bucketNh[x]![i];
  }

  /** Set a route; returns the next hop it replaced or -1. */
  set(fib: number, prefix: number, len: number, nh: number): number {
    if (len < 16) {
      const k = shortKey(fib, prefix, len);
      const old = this.short.get(k) ?? -1;
      this.short.set(k, nh);
      if (old < 0) this.count[fib]++;
      return old;
    }
    const x = prefix >>> 16;
    const key = (fib << 22) | ((prefix & 0xffff) << 6) | len;
    const i = this.find(x, key);
    if (i >= 0) {
      const nhs = this.bucketNh[x]!;
      const old = nhs[i];
      nhs[i] = nh;
      return old;
    }
    this.insert(x, key, nh);
    this.count[fib]++;
    return -1;
  }

  /** Remove a route; returns its next hop or -1 when it was not there. */
  delete(fib: number, prefix: number, len: number): number {
    if (len < 16) {
      const k = shortKey(fib, prefix, len);
      const old = this.short.get(k);
      if (old === undefined) return -1;
      this.short.delete(k);
      this.count[fib]--;
      return old;
    }
    const x = prefix >>> 16;
    const i = this.find(x, (fib << 22) | ((prefix & 0xffff) << 6) | len);
    if (i < 0) return -1;
    const keys = this.bucketKeys[x]!;
    const nhs = this.bucketNh[x]!;
    const old = nhs[i];
    const n = this.bucketN[x];
    keys.copyWithin(i, i + 1, n);
    nhs.copyWithin(i, i + 1, n);
    this.bucketN[x] = n - 1;
    this.count[fib]--;
    return old;
  }

  /** Longest match of `address` (u32) in `fib` in the logical form. */
  lookup(fib: number, address: number): RouteRef | null {
    const x = address >>> 16;
    const n = this.bucketN[x];
    if (n > 0) {
      const keys = this.bucketKeys[x]!;
      const low = address & 0xffff;
      // Ascending length order: scanning backwards meets the longest match first.
      for (let i = n - 1; i >= 0; i--) {
        const k = keys[i];
        if (k >>> 22 !== fib) continue;
        const len = k & 63;
        if (((low ^ ((k >>> 6) & 0xffff)) & ((0xffff << (32 - len)) & 0xffff)) === 0) {
          return { fib, prefix: ((x << 16) | ((k >>> 6) & 0xffff)) >>> 0, len, nextHop: this.bucketNh[x]![i] };
        }
      }
    }
    for (let len = 15; len >= 0; len--) {
      const p = (address & maskOf(len)) >>> 0;
      const nh = this.short.get(shortKey(fib, p, len));
      if (nh !== undefined) return { fib, prefix: p, len, nextHop: nh };
    }
    return null;
  }

  /** Best short route (len < 16) of `fib` covering /16 `x`: its next hop or -1. */
  inherited(fib: number, x: number): number {
    if (this.short.size === 0) return -1;
    const a = x << 16;
    for (let len = 15; len >= 0; len--) {
      const nh = this.short.get(shortKey(fib, (a & maskOf(len)) >>> 0, len));
      if (nh !== undefined) return nh;
    }
    return -1;
  }

  /** Every short route, decoded (for painting whole tables and for listings). */
  *shortRoutes(): Generator<RouteRef> {
    for (const [k, nh] of this.short) {
      const len = k % 16;
      const rest = (k - len) / 16;
      const prefix = rest % 4294967296;
      yield { fib: (rest - prefix) / 4294967296, prefix, len, nextHop: nh };
    }
  }

  /** Every route of `fib` (unordered). */
  routesOf(fib: number): RouteRef[] {
    const out: RouteRef[] = [];
    for (const r of this.shortRoutes()) if (r.fib === fib) out.push(r);
    for (let x = 0; x < 65536; x++) {
      const n = this.bucketN[x];
      if (n === 0) continue;
      const keys = this.bucketKeys[x]!;
      const nhs = this.bucketNh[x]!;
      for (let i = 0; i < n; i++) {
        const k = keys[i];
        if (k >>> 22 === fib) out.push({ fib, prefix: ((x << 16) | ((k >>> 6) & 0xffff)) >>> 0, len: k & 63, nextHop: nhs[i] });
      }
    }
    return out;
  }

  /** Drop every route of `fib`. */
  clearFib(fib: number): void {
    for (const r of [...this.shortRoutes()]) if (r.fib === fib) this.short.delete(shortKey(fib, r.prefix, r.len));
    for (let x = 0; x < 65536; x++) {
      const n = this.bucketN[x];
      if (n === 0) continue;
      const keys = this.bucketKeys[x]!;
      const nhs = this.bucketNh[x]!;
      let j = 0;
      for (let i = 0; i < n; i++) {
        if (keys[i] >>> 22 === fib) continue;
        keys[j] = keys[i];
        nhs[j++] = nhs[i];
      }
      this.bucketN[x] = j;
    }
    this.count[fib] = 0;
  }

  /**
   * Bulk insert of whole FIBs into an empty store: `routes[f]` are FIB f's columns with host
   * bits already clear and no duplicates. Fills buckets in ascending length order with one
   * counting pass, so a 900k-route table costs a few tens of milliseconds.
   */
  bulkLoad(routes: readonly { fib: number; count: number; prefix: Int32Array; len: Uint8Array; nh: Int32Array }[]): void {
    const sizes = new Int32Array(65536);
    const byLen: Int32Array[] = [];
    const lenStart: Int32Array[] = [];
    for (const r of routes) {
      const cnt = new Int32Array(34);
      for (let i = 0; i < r.count; i++) {
        const len = r.len[i];
        cnt[len + 1]++;
        if (len >= 16) sizes[r.prefix[i] >>> 16]++;
      }
      for (let l = 1; l < 34; l++) cnt[l] += cnt[l - 1];
      const start = cnt.slice();
      const order = new Int32Array(r.count);
      for (let i = 0; i < r.count; i++) order[cnt[r.len[i]]++] = i;
      byLen.push(order);
      lenStart.push(start);
      this.count[r.fib] += r.count;
    }
    for (let x = 0; x < 65536; x++) {
      if (sizes[x] === 0) continue;
      const need = this.bucketN[x] + sizes[x];
      this.ensure(x, need);
    }
    for (let len = 0; len <= 32; len++) {
      for (let j = 0; j < routes.length; j++) {
        const r = routes[j];
        const order = byLen[j];
        const fib = r.fib;
        for (let o = lenStart[j][len]; o < lenStart[j][len + 1]; o++) {
          const i = order[o];
          const p = r.prefix[i] >>> 0;
          if (len < 16) {
            this.short.set(shortKey(fib, p, len), r.nh[i]);
            continue;
          }
          const x = p >>> 16;
          const n = this.bucketN[x]++;
          this.bucketKeys[x]![n] = (fib << 22) | ((p & 0xffff) << 6) | len;
          this.bucketNh[x]![n] = r.nh[i];
        }
      }
    }
  }

  private ensure(x: number, need: number): void {
    const keys = this.bucketKeys[x];
    if (keys !== undefined && keys.length >= need) return;
    const cap = Math.max(need, keys === undefined ? 4 : keys.length * 2);
    const k2 = new Int32Array(cap);
    const n2 = new Int32Array(cap);
    if (keys !== undefined) {
      k2.set(keys);
      n2.set(this.bucketNh[x]!);
    }
    this.bucketKeys[x] = k2;
    this.bucketNh[x] = n2;
  }

  private find(x: number, key: number): number {
    const n = this.bucketN[x];
    const keys = this.bucketKeys[x];
    for (let i = 0; i < n; i++) if (keys![i] === key) return i;
    return -1;
  }

  private insert(x: number, key: number, nh: number): void {
    const n = this.bucketN[x];
    this.ensure(x, n + 1);
    const keys = this.bucketKeys[x]!;
    const nhs = this.bucketNh[x]!;
    const len = key & 63;
    let i = n;
    while (i > 0 && (keys[i - 1] & 63) > len) i--;
    keys.copyWithin(i + 1, i, n);
    nhs.copyWithin(i + 1, i, n);
    keys[i] = key;
    nhs[i] = nh;
    this.bucketN[x] = n + 1;
  }
}
