/**
 * The logical form's route storage: every (fib, prefix, len) -> next-hop index.
 *
 * Routes of length 16..32 live in one bucket per /16 (what an image rebuild of that /16
 * reads), kept in ascending length order so painting them in order is leaf pushing.
 * A bucket entry is one int32 key `fib << 22 | low16 << 6 | len` plus a next-hop column.
 * Shorter routes (len 0..15, a few thousand in a full table) sit in one Map.
 *
 * Every bucket is a slice of one pair of pooled columns (`keys`, `nhs`): bucket x holds
 * entries `bucketStart[x] .. bucketStart[x] + bucketN[x]` with room up to `bucketCap[x]`.
 * One pool instead of two typed arrays per /16: a full table touches ~40k /16s, and 80k small
 * typed arrays cost more in object headers and backing-store bookkeeping than the routes
 * themselves (and slow every GC). A bucket that outgrows its slice moves to the pool's end;
 * the pool is compacted when more than half of it is abandoned slices.
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
  readonly bucketStart = new Int32Array(65536);
  readonly bucketCap = new Int32Array(65536);
  /** Pooled bucket columns (replaced when the pool grows or is compacted: read them again after a change). */
  keys: Int32Array = new Int32Array(0);
  nhs: Int32Array = new Int32Array(0);
  /** Pool words handed out to buckets (live slices and abandoned ones). */
  private poolUsed = 0;
  /** Words in abandoned slices (a bucket that moved leaves its old slice behind). */
  private poolWaste = 0;
  readonly short = new Map<number, number>();
  readonly count = new Int32Array(MAX_FIBS);

  get(fib: number, prefix: number, len: number): number {
    if (len < 16) return this.short.get(shortKey(fib, prefix, len)) ?? -1;
    const x = prefix >>> 16;
    const i = this.find(x, (fib << 22) | ((prefix & 0xffff) << 6) | len);
    return i < 0 ? -1 : this.nhs[i];
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
      const old = this.nhs[i];
      this.nhs[i] = nh;
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
    const old = this.nhs[i];
    const end = this.bucketStart[x] + this.bucketN[x];
    this.keys.copyWithin(i, i + 1, end);
    this.nhs.copyWithin(i, i + 1, end);
    this.bucketN[x]--;
    this.count[fib]--;
    return old;
  }

  /** Longest match of `address` (u32) in `fib` in the logical form. */
  lookup(fib: number, address: number): RouteRef | null {
    const x = address >>> 16;
    const n = this.bucketN[x];
    if (n > 0) {
      const keys = this.keys;
      const base = this.bucketStart[x];
      const low = address & 0xffff;
      // Ascending length order: scanning backwards meets the longest match first.
      for (let i = base + n - 1; i >= base; i--) {
        const k = keys[i];
        if (k >>> 22 !== fib) continue;
        const len = k & 63;
        if (((low ^ ((k >>> 6) & 0xffff)) & ((0xffff << (32 - len)) & 0xffff)) === 0) {
          return { fib, prefix: ((x << 16) | ((k >>> 6) & 0xffff)) >>> 0, len, nextHop: this.nhs[i] };
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
    const keys = this.keys;
    const nhs = this.nhs;
    for (let x = 0; x < 65536; x++) {
      const n = this.bucketN[x];
      if (n === 0) continue;
      const base = this.bucketStart[x];
      for (let i = base; i < base + n; i++) {
        const k = keys[i];
        if (k >>> 22 === fib) out.push({ fib, prefix: ((x << 16) | ((k >>> 6) & 0xffff)) >>> 0, len: k & 63, nextHop: nhs[i] });
      }
    }
    return out;
  }

  /** Call `fn` with the next hop of every route (every FIB). */
  forEachNextHop(fn: (nh: number) => void): void {
    for (const nh of this.short.values()) fn(nh);
    const nhs = this.nhs;
    for (let x = 0; x < 65536; x++) {
      const base = this.bucketStart[x];
      for (let i = base; i < base + this.bucketN[x]; i++) fn(nhs[i]);
    }
  }

  /** Drop every route of `fib`. */
  clearFib(fib: number): void {
    for (const r of [...this.shortRoutes()]) if (r.fib === fib) this.short.delete(shortKey(fib, r.prefix, r.len));
    const keys = this.keys;
    const nhs = this.nhs;
    for (let x = 0; x < 65536; x++) {
      const n = this.bucketN[x];
      if (n === 0) continue;
      const base = this.bucketStart[x];
      let j = base;
      for (let i = base; i < base + n; i++) {
        if (keys[i] >>> 22 === fib) continue;
        keys[j] = keys[i];
        nhs[j++] = nhs[i];
      }
      this.bucketN[x] = j - base;
    }
    this.count[fib] = 0;
  }

  /**
   * Bulk insert of whole FIBs into an empty store: `routes[f]` are FIB f's columns (host bits
   * need not be clear). A route repeating an earlier one's FIB, prefix and length replaces it
   * (the later line of a file wins). Builds the buckets straight from the columns, with no
   * per-route objects: one pass counts each /16's routes (and notes whether every FIB's routes
   * come in strictly ascending prefix/length order, as table dumps do: then there is nothing to
   * dedupe), one places the routes in their buckets, then each bucket is put in ascending length
   * order (a counting sort) and, unless sorted, rid of duplicates (a hash over its keys), both in
   * scratch space the size of the largest bucket.
   *
   * `adopt`: the store may take one FIB's `prefix` and `nh` columns as its own pool and reorder
   * them in place (the caller gives them up): the routes then exist once, not as columns plus a
   * copy. Only for a single FIB in ascending order (there are no duplicates then, and the routes
   * already come bucket by bucket: adoptColumns); otherwise the columns are copied.
   */
  bulkLoad(routes: readonly { fib: number; count: number; prefix: Int32Array; len: Uint8Array; nh: Int32Array }[], adopt = false): void {
    if (this.poolUsed !== 0 || this.short.size !== 0) throw new Error('RouteStore.bulkLoad: the store is not empty');
    const sizes = this.bucketCap;
    let sorted = true;
    for (const r of routes) {
      const P = r.prefix;
      const L = r.len;
      // Int32 only (a u32 prefix times 64 would be a double per route): the masked prefix with
      // its top bit flipped orders as the unsigned prefix does.
      let lastKey = -2147483648;
      let lastLen = -1;
      for (let i = 0; i < r.count; i++) {
        const len = L[i];
        if (len > 32) throw new RangeError(`prefix length ${len} is not 0..32`);
        const p = len === 0 ? 0 : P[i] & (-1 << (32 - len));
        const key = p ^ -2147483648;
        if (key < lastKey || (key === lastKey && len <= lastLen)) sorted = false;
        lastKey = key;
        lastLen = len;
        if (len >= 16) sizes[p >>> 16]++;
      }
    }
    let total = 0;
    let largest = 0;
    for (let x = 0; x < 65536; x++) {
      this.bucketStart[x] = total;
      total += sizes[x];
      if (sizes[x] > largest) largest = sizes[x];
    }
    if (adopt && sorted && routes.length === 1) this.adoptColumns(routes[0], total);
    else this.copyColumns(routes, total);
    const keys = this.keys;
    const nhs = this.nhs;
    if (largest === 0) return;
    const sk = new Int32Array(largest);
    const sn = new Int32Array(largest);
    const cnt = new Int32Array(34);
    let tableSize = 4;
    while (!sorted && tableSize < 2 * largest) tableSize *= 2;
    // Open-addressing table of entry positions + 1 (0: empty slot).
    const table = new Int32Array(sorted ? 0 : tableSize);
    for (let x = 0; x < 65536; x++) {
      const n = this.bucketN[x];
      if (n === 0) continue;
      const base = this.bucketStart[x];
      if (n > 1) {
        // Stable counting sort by length: same-length entries keep column order, so the later duplicate stays later.
        cnt.fill(0);
        for (let i = base; i < base + n; i++) cnt[(keys[i] & 63) + 1]++;
        for (let l = 1; l < 34; l++) cnt[l] += cnt[l - 1];
        for (let i = base; i < base + n; i++) {
          const o = cnt[keys[i] & 63]++;
          sk[o] = keys[i];
          sn[o] = nhs[i];
        }
        if (sorted) {
          // A loop, not `set` of two subarrays: those would be two objects per /16 (80k for a full table).
          for (let o = 0; o < n; o++) {
            keys[base + o] = sk[o];
            nhs[base + o] = sn[o];
          }
        } else {
          // Drop duplicates: the first position keeps the key, the last next hop wins.
          let size = 4;
          while (size < 2 * n) size *= 2;
          table.fill(0, 0, size);
          let m = 0;
          for (let o = 0; o < n; o++) {
            const key = sk[o];
            let h = Math.imul(key, 0x9e3779b1);
            h = (h ^ (h >>> 16)) & (size - 1);
            let slot = table[h];
            while (slot !== 0 && keys[base + slot - 1] !== key) {
              h = (h + 1) & (size - 1);
              slot = table[h];
            }
            if (slot !== 0) nhs[base + slot - 1] = sn[o];
            else {
              keys[base + m] = key;
              nhs[base + m] = sn[o];
              table[h] = ++m;
            }
          }
          this.bucketN[x] = m;
        }
      }
      for (let i = base; i < base + this.bucketN[x]; i++) this.count[keys[i] >>> 22]++;
    }
  }

  /** A new pool of `total` entries, filled in column order; short routes go to their Map in column order (the later wins). */
  private copyColumns(routes: readonly { fib: number; count: number; prefix: Int32Array; len: Uint8Array; nh: Int32Array }[], total: number): void {
    this.keys = new Int32Array(total);
    this.nhs = new Int32Array(total);
    this.poolUsed = total;
    const keys = this.keys;
    const nhs = this.nhs;
    for (const r of routes) {
      const fib = r.fib;
      for (let i = 0; i < r.count; i++) {
        const len = r.len[i];
        const p = (r.prefix[i] & maskOf(len)) >>> 0;
        if (len < 16) {
          this.set(fib, p, len, r.nh[i]);
          continue;
        }
        const x = p >>> 16;
        const at = this.bucketStart[x] + this.bucketN[x]++;
        keys[at] = (fib << 22) | ((p & 0xffff) << 6) | len;
        nhs[at] = r.nh[i];
      }
    }
  }

  /**
   * The columns become the pool. The routes come in ascending prefix order (bulkLoad checked),
   * so the /16-or-longer ones already come bucket by bucket: one forward pass moves each to its
   * final place (never past where it was read: the short ones it skips only pull later routes
   * forward) as its bucket key, and sends each short route to its Map. Sequential, where a
   * general in-place bucket sort would swap routes across the whole column; the region after
   * the last bucket stays as waste.
   */
  private adoptColumns(r: { fib: number; count: number; prefix: Int32Array; len: Uint8Array; nh: Int32Array }, total: number): void {
    const P = r.prefix;
    const L = r.len;
    const H = r.nh;
    const n = r.count;
    const fib = r.fib;
    let w = 0;
    for (let i = 0; i < n; i++) {
      const len = L[i];
      if (len < 16) {
        this.set(fib, len === 0 ? 0 : (P[i] & (-1 << (32 - len))) >>> 0, len, H[i]);
        continue;
      }
      // Int32 arithmetic: bucket routes are /16 or longer, so the mask is never 0.
      const key = (fib << 22) | ((P[i] & (-1 << (32 - len)) & 0xffff) << 6) | len;
      H[w] = H[i];
      P[w++] = key;
    }
    if (w !== total) throw new Error(`RouteStore.adoptColumns: ${w} bucket routes placed, ${total} counted`);
    this.bucketN.set(this.bucketCap);
    this.keys = P;
    this.nhs = H;
    this.poolUsed = n;
    this.poolWaste = n - total;
  }

  /** Room for `need` entries in bucket x (moving it to the pool's end when its slice is too small). */
  private ensure(x: number, need: number): void {
    const cap = this.bucketCap[x];
    if (cap >= need) return;
    const newCap = Math.max(need, cap === 0 ? 4 : cap * 2);
    if (this.poolUsed + newCap > this.keys.length) this.growPool(newCap);
    const from = this.bucketStart[x];
    const n = this.bucketN[x];
    const to = this.poolUsed;
    this.keys.copyWithin(to, from, from + n);
    this.nhs.copyWithin(to, from, from + n);
    this.poolWaste += cap;
    this.bucketStart[x] = to;
    this.bucketCap[x] = newCap;
    this.poolUsed += newCap;
  }

  /** Make room for `extra` more words: compact away abandoned slices, growing the pool if that is not enough. */
  private growPool(extra: number): void {
    const live = this.poolUsed - this.poolWaste;
    const keys = new Int32Array(Math.max(1024, Math.ceil((live + extra) * 1.5)));
    const nhs = new Int32Array(keys.length);
    let at = 0;
    for (let x = 0; x < 65536; x++) {
      const cap = this.bucketCap[x];
      if (cap === 0) continue;
      const from = this.bucketStart[x];
      keys.set(this.keys.subarray(from, from + this.bucketN[x]), at);
      nhs.set(this.nhs.subarray(from, from + this.bucketN[x]), at);
      this.bucketStart[x] = at;
      at += cap;
    }
    this.keys = keys;
    this.nhs = nhs;
    this.poolUsed = at;
    this.poolWaste = 0;
  }

  /** Pool position of the entry with `key` in bucket x, or -1. */
  private find(x: number, key: number): number {
    const base = this.bucketStart[x];
    const end = base + this.bucketN[x];
    const keys = this.keys;
    for (let i = base; i < end; i++) if (keys[i] === key) return i;
    return -1;
  }

  private insert(x: number, key: number, nh: number): void {
    this.ensure(x, this.bucketN[x] + 1);
    const base = this.bucketStart[x];
    const n = this.bucketN[x];
    const keys = this.keys;
    const nhs = this.nhs;
    const len = key & 63;
    let i = base + n;
    while (i > base && (keys[i - 1] & 63) > len) i--;
    keys.copyWithin(i + 1, i, base + n);
    nhs.copyWithin(i + 1, i, base + n);
    keys[i] = key;
    nhs[i] = nh;
    this.bucketN[x] = n + 1;
  }
}
