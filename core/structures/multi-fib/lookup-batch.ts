/**
 * The CPU form of the multi-FIB lookup over columns: the same walk as `lookupImage`, written
 * for V8's fast path (int32 arithmetic only, arrays passed as parameters, no read past an
 * array's end). `out[i]` is the next-hop index or -1. It is kernel ip-lookup's cpu form
 * (`ipLookupCpu`, core/kernels/ip-lookup/reference.ts).
 *
 * The walk runs level by level over blocks of items rather than item by item: each pass's
 * loads are independent of each other (the CPU overlaps their cache misses), and items that
 * stop at a level drop out through a branch-free index list, so the random "leaf or node"
 * outcome costs no mispredicted branches. Measured on the full table: ~1.5x the item-by-item
 * loop (design-note.md).
 *
 * In front of the walk sits a /24 answer cache derived from the image (destination-cache.ts,
 * where its exactness is argued): the first pass reads the L0 entry and probes the cache, and
 * items whose answer is then a plain next hop are done in that one pass; only the rest (cache
 * misses, records, no route) go on through the levels. A block where the cache does not pay
 * (random destinations) makes the following blocks skip it (SKIP_BLOCKS).
 *
 * Tags are tested on the int32 value: a NODE or NARROW_NODE entry (tag 2 or 3) is negative, a
 * RECORD (tag 1) is at least 2^30, a LEAF (tag 0) is below that (NO_ROUTE = 2^30 - 1).
 */
import { H_L0, NO_ROUTE as NO_ROUTE_ENTRY } from './image-format.js';
import { CACHE_INDEX_MASK as CACHE_INDEX_MASK_VALUE, CACHE_SLOTS, SKIP_LOOKUPS, cacheOwner, ownCache } from './destination-cache.js';

// Module-local copies of the constants the loops use: V8 folds a module's own `const` into
// the code, but loads an imported binding on every use (measured: the probe loop ran at ~0.6x
// with the imports).
const NO_ROUTE = 0x3fffffff;
const CACHE_INDEX_MASK = 0x1ffe;
if (NO_ROUTE !== NO_ROUTE_ENTRY || CACHE_INDEX_MASK !== CACHE_INDEX_MASK_VALUE) throw new Error('lookup-batch: constants out of step with image-format.ts / destination-cache.ts');

/**
 * The cache's slots (destination-cache.ts): slot s at words 2s (key: address >>> 8, -1 when
 * empty) and 2s+1 (answer or RECORD). A module constant on purpose: V8 compiles the probe loop
 * over a constant typed array ~1.25x faster than over one loaded from an object's field
 * (measured at batch 1024, interleaved).
 */
const CACHE_WORDS = new Int32Array(CACHE_SLOTS * 2).fill(-1);

/** Filled slots (tests). */
export function cachedSlots(): number {
  let n = 0;
  for (let s = 0; s < CACHE_WORDS.length; s += 2) if (CACHE_WORDS[s] !== -1) n++;
  return n;
}

const BLOCK = 1024;
const level1 = new Int32Array(BLOCK);
const level2 = new Int32Array(BLOCK);
const rest = new Int32Array(BLOCK);
const runIndex = new Int32Array(BLOCK);
const runSelect = new Int32Array(BLOCK);

export function lookupBatch(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number): void {
  const owner = ownCache(image);
  if (owner.skip > 0) {
    owner.skip -= count;
    walk(image, vrf, dst, out, count);
    return;
  }
  if (owner.stale) {
    CACHE_WORDS.fill(-1);
    owner.stale = false;
  }
  // One probing pass over the whole batch first: cache-hot traffic is done after it.
  if (probe(CACHE_WORDS, dst, out, count) !== 0) walkUnfinished(image, vrf, dst, out, count);
}

/** Walk what `probe` left unfinished (level by level over blocks), filling the cache on the way. */
function walkUnfinished(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number): void {
  const l0 = image[H_L0];
  let missed = 0;
  for (let b = 0; b < count; b += BLOCK) {
    const end = b + BLOCK < count ? b + BLOCK : count;
    const nr = unfinished(out, rest, b, end);
    if (nr === 0) continue;
    const n1 = rootList(image, l0, dst, out, rest, nr, level1);
    const n2 = nodePass(image, dst, out, level1, n1, level2, 8);
    fill(CACHE_WORDS, dst, out, rest, nr);
    nodePass(image, dst, out, level2, n2, level1, 0);
    finishList(image, vrf, out, rest, nr);
    missed += nr;
  }
  // More than 1/8 of the batch missed the cache: it sits out the next SKIP_LOOKUPS lookups.
  if (missed * 8 > count) cacheOwner.skip = SKIP_LOOKUPS;
}

/** The walk without the cache (level by level over blocks). */
function walk(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number): void {
  const l0 = image[H_L0];
  for (let b = 0; b < count; b += BLOCK) {
    const end = b + BLOCK < count ? b + BLOCK : count;
    const n1 = rootPass(image, l0, dst, out, level1, b, end);
    const n2 = nodePass(image, dst, out, level1, n1, level2, 8);
    nodePass(image, dst, out, level2, n2, level1, 0);
    finishPass(image, vrf, out, b, end);
  }
}

function rootPass(image: Int32Array, l0: number, dst: Int32Array, out: Int32Array, next: Int32Array, b: number, end: number): number {
  let m = 0;
  for (let i = b; i < end; i++) {
    const e = image[l0 + (dst[i] >>> 16)];
    out[i] = e;
    next[m] = i;
    m += e >>> 31;
  }
  return m;
}

/**
 * The cached answer of each address's /24, or NO_ROUTE for a miss. Returns non-zero when some
 * item is not final. Final values are answers, -1..NO_ROUTE-1, so v + 1 lies in 0..2^30-1;
 * for a miss (NO_ROUTE) or a cached RECORD (2^30 + offset) v + 1 has bit 30 set.
 */
function probe(cw: Int32Array, dst: Int32Array, out: Int32Array, count: number): number {
  let m = 0;
  for (let i = 0; i < count; i++) {
    const a = dst[i];
    const h = (a >>> 7) & CACHE_INDEX_MASK;
    const v = cw[h] === a >>> 8 ? cw[h + 1] : NO_ROUTE;
    out[i] = v;
    m |= v + 1;
  }
  return m & 0x40000000;
}

/** The items of b..end that `probe` left unfinished. */
function unfinished(out: Int32Array, rest: Int32Array, b: number, end: number): number {
  let m = 0;
  for (let i = b; i < end; i++) {
    rest[m] = i;
    m += ((out[i] + 1) >>> 30) & 1;
  }
  return m;
}

/** The L0 entries of the items in `items`; lists those that are nodes. */
function rootList(image: Int32Array, l0: number, dst: Int32Array, out: Int32Array, items: Int32Array, n: number, next: Int32Array): number {
  let m = 0;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const e = image[l0 + (dst[i] >>> 16)];
    out[i] = e;
    next[m] = i;
    m += e >>> 31;
  }
  return m;
}

/**
 * Cache what the walk reached by level 1 for each item's /24: a LEAF as its answer (-1 for
 * NO_ROUTE), a RECORD as itself (its answer depends on the FIB); a level-2 node is not cached.
 */
function fill(cw: Int32Array, dst: Int32Array, out: Int32Array, items: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const v = out[i];
    if (v >= 0) {
      const a = dst[i];
      const h = (a >>> 7) & CACHE_INDEX_MASK;
      cw[h] = a >>> 8;
      cw[h + 1] = v | (((v ^ NO_ROUTE) - 1) >> 31);
    }
  }
}

/**
 * One node level for the items listed in `items` (`shift` 8: bits 15..8, 0: bits 7..0); lists
 * those that reach another node. Two passes: the first only computes each item's run entry
 * position from its chunk's bitmap and count words, the second only loads entries, so each
 * pass's cache misses are independent of one another and overlap.
 *
 * Both node widths without a branch (layout 2): `t` is 1 for a NARROW_NODE (tag 3), 0 for a
 * NODE (tag 2). Run k's entry is in word 10 + (k >>> t), at bit (k & t) << 4, under the mask
 * ~(-t << 16) (all bits, or the low 16); a narrow half 0xffff (the only value for which (v + 1) >>> 16 is 1)
 * becomes NO_ROUTE. `where` keeps the word, `sel` the bit shift times 2 plus `t`.
 */
function nodePass(image: Int32Array, dst: Int32Array, out: Int32Array, items: Int32Array, n: number, next: Int32Array, shift: number): number {
  const where = runIndex;
  const sel = runSelect;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const a = dst[i] >>> shift;
    const e = out[i];
    const node = e & 0x3fffffff;
    const c = (a >>> 5) & 7;
    let x = image[node + c] & ((2 << (a & 31)) - 1);
    x = x - ((x >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    x = Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
    const k = ((image[node + 8 + (c >>> 2)] >>> ((c & 3) << 3)) & 255) + x - 1;
    const t = (e >>> 30) & 1;
    where[j] = node + 10 + (k >>> t);
    sel[j] = ((k & t) << 5) | t;
  }
  let m = 0;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const s = sel[j];
    const t = s & 1;
    let e = (image[where[j]] >>> (s >>> 1)) & ~(-t << 16);
    e |= -(t & ((e + 1) >>> 16)) & NO_ROUTE;
    out[i] = e;
    next[m] = i;
    m += e >>> 31;
  }
  return m;
}

/** The final answer from a LEAF or RECORD entry: the FIB's next hop, -1 for NO_ROUTE. */
function answer(image: Int32Array, vrf: Int32Array | null, i: number, e: number): number {
  if (e >= 0x40000000) {
    const r = e & 0x3fffffff;
    const fib = vrf === null ? 0 : vrf[i];
    const stop = r + 2 + 2 * image[r + 1];
    e = image[r];
    for (let j = r + 2; j < stop; j += 2) {
      const f = image[j];
      if (f === fib) {
        e = image[j + 1];
        break;
      }
      if (f > fib) break;
    }
  }
  // -1 for NO_ROUTE without a branch: (e ^ NO_ROUTE) - 1 is negative only when e === NO_ROUTE.
  return e | (((e ^ NO_ROUTE) - 1) >> 31);
}

function finishPass(image: Int32Array, vrf: Int32Array | null, out: Int32Array, b: number, end: number): void {
  for (let i = b; i < end; i++) out[i] = answer(image, vrf, i, out[i]);
}

function finishList(image: Int32Array, vrf: Int32Array | null, out: Int32Array, items: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const i = items[j];
    out[i] = answer(image, vrf, i, out[i]);
  }
}
