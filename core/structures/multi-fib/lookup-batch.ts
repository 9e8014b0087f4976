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
 * loop (design-note.md). Each pass stores what it reads as the final answer when it is one
 * (answerOrEntry), so only items that reached a RECORD need a pass after the walk, and only in
 * blocks where one did.
 *
 * In front of the walk sits a /24 answer cache derived from the image (destination-cache.ts,
 * where its exactness is argued): one pass over the batch probes it, and items whose answer is
 * then final are done; only the rest (cache misses, records) go on through the levels. A batch
 * where the cache does not pay (random destinations) makes the following SKIP_LOOKUPS lookups
 * skip it.
 *
 * The hot loops handle four items (probe, root pass) or two (node passes) per iteration: V8
 * checks each typed array parameter's map and reloads its length and data pointer on every
 * iteration (nothing is hoisted out of a loop), which for a probe of a few instructions costs
 * as much as the probe; the unrolled items share one set. Measured against layout 2's walk
 * before (bench section `lookup-walks`, design-note.md): 1.2-1.3x on cache-hot traffic,
 * 1.15-1.3x on uniform random.
 *
 * Tags are tested on the int32 value: a NODE or NARROW_NODE entry (tag 2 or 3) is negative, a
 * RECORD (tag 1) is at least 2^30, a LEAF (tag 0) is below that (NO_ROUTE = 2^30 - 1).
 */
import { H_L0, NO_ROUTE as NO_ROUTE_ENTRY } from './image-format.js';
import { CACHE_INDEX_MASK as CACHE_INDEX_MASK_VALUE, CACHE_SLOTS, SKIP_LOOKUPS, ownCache } from './destination-cache.js';

// Module-local copies of the constants the loops use: V8 folds a module's own `const` into
// the code, but loads an imported binding on every use (measured: the probe loop ran at ~0.6x
// with the imports).
const NO_ROUTE = 0x3fffffff;
const CACHE_INDEX_MASK = 0x1ffe;
if (NO_ROUTE !== NO_ROUTE_ENTRY || CACHE_INDEX_MASK !== CACHE_INDEX_MASK_VALUE) throw new Error('lookup-batch: constants out of step with image-format.ts / destination-cache.ts');

/**
 * The cache's slots (destination-cache.ts): slot s at words 2s (key: address >>> 8, -1 when
 * empty) and 2s+1 (answer or RECORD). A module constant on purpose, read as such inside `probe`
 * and `fill` (not passed in: whether a callee is inlined is V8's choice): V8 compiles the probe
 * loop over a constant typed array ~1.25x faster than over one loaded from an object's field
 * (measured at batch 1024, interleaved), since it checks neither its map nor its length.
 */
const CACHE_WORDS = new Int32Array(CACHE_SLOTS * 2).fill(-1);

/** Filled slots (tests). */
export function cachedSlots(): number {
  let n = 0;
  for (let s = 0; s < CACHE_WORDS.length; s += 2) if (CACHE_WORDS[s] !== -1) n++;
  return n;
}

const BLOCK = 1024;
/** A pass's return value: its list length in the low bits, SAW_RECORD when some item stopped at a RECORD. */
const LIST_MASK = 0x3fffffff;
const SAW_RECORD = 0x40000000;
const level1 = new Int32Array(BLOCK);
const level2 = new Int32Array(BLOCK);
const rest = new Int32Array(BLOCK);
const runIndex = new Int32Array(BLOCK);
const runSelect = new Int32Array(BLOCK);

export function lookupBatch(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number): void {
  const owner = ownCache(image);
  if (owner.skip > 0) {
    owner.skip -= count;
    walk(image, vrf, dst, out, 0, count);
    return;
  }
  if (owner.stale) {
    CACHE_WORDS.fill(-1);
    owner.stale = false;
  }
  // One probing pass, then the walk for what it left. A batch of more than one block probes its
  // first block alone first, as a trial: when more than 1/8 of it misses, the rest of the batch
  // runs the plain walk (a large batch of random destinations pays for one probed block). The
  // rest is probed through views starting at 0: `probe` compiles to faster code over a range
  // that starts at a constant (measured; the views cost one allocation each per large batch).
  const first = count < BLOCK ? count : BLOCK;
  if (probe(dst, out, first) !== 0 && walkUnfinished(image, vrf, dst, out, first) * 8 > first) {
    owner.skip = SKIP_LOOKUPS;
    if (first < count) walk(image, vrf, dst, out, first, count);
  } else if (first < count) {
    const d = dst.subarray(first, count);
    const o = out.subarray(first, count);
    const n = count - first;
    if (probe(d, o, n) !== 0 && walkUnfinished(image, vrf === null ? null : vrf.subarray(first, count), d, o, n) * 8 > n) owner.skip = SKIP_LOOKUPS;
  }
}

/** Walk what `probe` left unfinished (level by level over blocks), filling the cache on the way; returns how many items that was. */
function walkUnfinished(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number): number {
  const l0 = image[H_L0];
  let missed = 0;
  for (let b = 0; b < count; b += BLOCK) {
    const end = b + BLOCK < count ? b + BLOCK : count;
    const nr = unfinished(out, rest, b, end);
    if (nr === 0) continue;
    const r0 = rootList(image, l0, dst, out, rest, nr, level1);
    const r1 = nodePass(image, dst, out, level1, r0 & LIST_MASK, level2, 8);
    fill(dst, out, rest, nr);
    const r2 = nodePass(image, dst, out, level2, r1 & LIST_MASK, level1, 0);
    if ((r2 & LIST_MASK) !== 0) noRoute(out, level1, r2 & LIST_MASK);
    if (((r0 | r1 | r2) & SAW_RECORD) !== 0) finishList(image, vrf, out, rest, nr);
    missed += nr;
  }
  return missed;
}

/** The walk without the cache over items b0..count (level by level over blocks). */
function walk(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, b0: number, count: number): void {
  const l0 = image[H_L0];
  for (let b = b0; b < count; b += BLOCK) {
    const end = b + BLOCK < count ? b + BLOCK : count;
    const r0 = rootPass(image, l0, dst, out, level1, b, end);
    const r1 = nodePass(image, dst, out, level1, r0 & LIST_MASK, level2, 8);
    const r2 = nodePass(image, dst, out, level2, r1 & LIST_MASK, level1, 0);
    if ((r2 & LIST_MASK) !== 0) noRoute(out, level1, r2 & LIST_MASK);
    if (((r0 | r1 | r2) & SAW_RECORD) !== 0) finishPass(image, vrf, out, b, end);
  }
}

/**
 * Every pass stores an entry it reads as the item's answer when it is one: a LEAF becomes its
 * next hop, NO_ROUTE becomes -1 (`e | (((x - 1) & ~x) >> 31)` with x = e ^ NO_ROUTE: all ones
 * exactly when x is 0; a node entry, negative, and a RECORD pass unchanged). So no pass over the
 * block is needed after the walk unless an item reached a RECORD: each pass returns its list
 * length (at most BLOCK) with SAW_RECORD set when one did (a stored value >= 2^30; -1 and node
 * entries are negative and masked out by `v & ~(v >> 31)`). -1 is never a node entry (that would
 * be a NARROW_NODE at word 2^30 - 1, past any image).
 */
function answerOrEntry(e: number): number {
  const x = e ^ NO_ROUTE;
  return e | (((x - 1) & ~x) >> 31);
}

function rootPass(image: Int32Array, l0: number, dst: Int32Array, out: Int32Array, next: Int32Array, b: number, end: number): number {
  let m = 0;
  let seen = 0;
  let i = b;
  // Four items per iteration, as `probe` (the typed arrays' checks shared by four).
  for (const stop = end - 3; i < stop; i += 4) {
    const e0 = image[l0 + (dst[i] >>> 16)];
    const e1 = image[l0 + (dst[i + 1] >>> 16)];
    const e2 = image[l0 + (dst[i + 2] >>> 16)];
    const e3 = image[l0 + (dst[i + 3] >>> 16)];
    next[m] = i;
    m += e0 >>> 31;
    next[m] = i + 1;
    m += e1 >>> 31;
    next[m] = i + 2;
    m += e2 >>> 31;
    next[m] = i + 3;
    m += e3 >>> 31;
    const v0 = answerOrEntry(e0);
    const v1 = answerOrEntry(e1);
    const v2 = answerOrEntry(e2);
    const v3 = answerOrEntry(e3);
    out[i] = v0;
    out[i + 1] = v1;
    out[i + 2] = v2;
    out[i + 3] = v3;
    seen |= (v0 & ~(v0 >> 31)) | (v1 & ~(v1 >> 31)) | (v2 & ~(v2 >> 31)) | (v3 & ~(v3 >> 31));
  }
  for (; i < end; i++) {
    const e = image[l0 + (dst[i] >>> 16)];
    next[m] = i;
    m += e >>> 31;
    const v = answerOrEntry(e);
    out[i] = v;
    seen |= v & ~(v >> 31);
  }
  return m | (seen & SAW_RECORD);
}

/**
 * The cached answer of each address's /24, or NO_ROUTE for a miss. Returns non-zero when some
 * item is not final. Final values are answers, -1..NO_ROUTE-1, so v + 1 lies in 0..2^30-1;
 * for a miss (NO_ROUTE) or a cached RECORD (2^30 + offset) v + 1 has bit 30 set.
 *
 * Four items per iteration (UNROLLED): V8 checks each typed array parameter's map and reloads
 * its length and data pointer on every iteration of a loop (nothing is hoisted out of it), and
 * the probe itself is only a few instructions, so per item those checks cost about as much as
 * the probe; four items share one set (measured on cache-hot traffic: 1.13x the TS DIR-24-8
 * with four, 0.93x with one, interleaved, load 9).
 */
function probe(dst: Int32Array, out: Int32Array, count: number): number {
  const cw = CACHE_WORDS;
  let m = 0;
  let i = 0;
  for (const stop = count - 3; i < stop; i += 4) {
    const a0 = dst[i];
    const a1 = dst[i + 1];
    const a2 = dst[i + 2];
    const a3 = dst[i + 3];
    const h0 = (a0 >>> 7) & CACHE_INDEX_MASK;
    const h1 = (a1 >>> 7) & CACHE_INDEX_MASK;
    const h2 = (a2 >>> 7) & CACHE_INDEX_MASK;
    const h3 = (a3 >>> 7) & CACHE_INDEX_MASK;
    const v0 = cw[h0] === a0 >>> 8 ? cw[h0 + 1] : NO_ROUTE;
    const v1 = cw[h1] === a1 >>> 8 ? cw[h1 + 1] : NO_ROUTE;
    const v2 = cw[h2] === a2 >>> 8 ? cw[h2 + 1] : NO_ROUTE;
    const v3 = cw[h3] === a3 >>> 8 ? cw[h3 + 1] : NO_ROUTE;
    out[i] = v0;
    out[i + 1] = v1;
    out[i + 2] = v2;
    out[i + 3] = v3;
    m |= (v0 + 1) | (v1 + 1) | (v2 + 1) | (v3 + 1);
  }
  for (; i < count; i++) {
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

/** The L0 entries of the items in `items` (answers where final, as rootPass); lists those that are nodes. */
function rootList(image: Int32Array, l0: number, dst: Int32Array, out: Int32Array, items: Int32Array, n: number, next: Int32Array): number {
  let m = 0;
  let seen = 0;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const e = image[l0 + (dst[i] >>> 16)];
    next[m] = i;
    m += e >>> 31;
    const v = answerOrEntry(e);
    out[i] = v;
    seen |= v & ~(v >> 31);
  }
  return m | (seen & SAW_RECORD);
}

/**
 * Cache what the walk reached by level 1 for each item's /24: an answer (-1 for no route) or a
 * RECORD (its answer depends on the FIB); a level-2 node (negative, below -1) is not cached.
 */
function fill(dst: Int32Array, out: Int32Array, items: Int32Array, n: number): void {
  const cw = CACHE_WORDS;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const v = out[i];
    if (v >= -1) {
      const a = dst[i];
      const h = (a >>> 7) & CACHE_INDEX_MASK;
      cw[h] = a >>> 8;
      cw[h + 1] = v;
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
 * ~(-t << 16) (all bits, or the low 16); a narrow half 0xffff (the only value for which
 * (v + 1) >>> 16 is 1) becomes -1, a wide NO_ROUTE too (as rootPass). `where` keeps the word,
 * `sel` the bit shift times 2 plus `t`. Returns the list length, with SAW_RECORD as rootPass.
 */
function nodePass(image: Int32Array, dst: Int32Array, out: Int32Array, items: Int32Array, n: number, next: Int32Array, shift: number): number {
  const where = runIndex;
  const sel = runSelect;
  // Two items per iteration in both passes, for the reason `probe` gives.
  let j = 0;
  for (const stop = n - 1; j < stop; j += 2) {
    const e0 = out[items[j]];
    const e1 = out[items[j + 1]];
    const p0 = runOf(image, e0, dst[items[j]] >>> shift);
    const p1 = runOf(image, e1, dst[items[j + 1]] >>> shift);
    const t0 = (e0 >>> 30) & 1;
    const t1 = (e1 >>> 30) & 1;
    where[j] = (e0 & 0x3fffffff) + 10 + (p0 >>> t0);
    where[j + 1] = (e1 & 0x3fffffff) + 10 + (p1 >>> t1);
    sel[j] = ((p0 & t0) << 5) | t0;
    sel[j + 1] = ((p1 & t1) << 5) | t1;
  }
  if (j < n) {
    const e = out[items[j]];
    const k = runOf(image, e, dst[items[j]] >>> shift);
    const t = (e >>> 30) & 1;
    where[j] = (e & 0x3fffffff) + 10 + (k >>> t);
    sel[j] = ((k & t) << 5) | t;
  }
  let m = 0;
  let seen = 0;
  j = 0;
  for (const stop = n - 1; j < stop; j += 2) {
    const i0 = items[j];
    const i1 = items[j + 1];
    const s0 = sel[j];
    const s1 = sel[j + 1];
    const w0 = (image[where[j]] >>> (s0 >>> 1)) & ~(-(s0 & 1) << 16);
    const w1 = (image[where[j + 1]] >>> (s1 >>> 1)) & ~(-(s1 & 1) << 16);
    // Only a wide entry can be a node (a narrow half is below 2^16).
    next[m] = i0;
    m += w0 >>> 31;
    next[m] = i1;
    m += w1 >>> 31;
    const v0 = answerOrEntry(w0 | -(s0 & ((w0 + 1) >>> 16)));
    const v1 = answerOrEntry(w1 | -(s1 & ((w1 + 1) >>> 16)));
    out[i0] = v0;
    out[i1] = v1;
    seen |= (v0 & ~(v0 >> 31)) | (v1 & ~(v1 >> 31));
  }
  if (j < n) {
    const i = items[j];
    const s = sel[j];
    const w = (image[where[j]] >>> (s >>> 1)) & ~(-(s & 1) << 16);
    next[m] = i;
    m += w >>> 31;
    const v = answerOrEntry(w | -(s & ((w + 1) >>> 16)));
    out[i] = v;
    seen |= v & ~(v >> 31);
  }
  return m | (seen & SAW_RECORD);
}

/**
 * Run index k of slot `a & 255` in the node of entry `e`: the runs before its chunk (byte c & 3
 * of count word 8 + (c >>> 2)) plus the set bits of its chunk's bitmap up to the slot, minus one.
 */
function runOf(image: Int32Array, e: number, a: number): number {
  const node = e & 0x3fffffff;
  const c = (a >>> 5) & 7;
  let x = image[node + c] & ((2 << (a & 31)) - 1);
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  return ((image[node + 8 + (c >>> 2)] >>> ((c & 3) << 3)) & 255) + x - 1;
}

/**
 * Items still at a node after level 2: only a malformed image (a level-2 node holding a node
 * entry, which the builder never makes) gets here; they answer -1, as the walk always did,
 * rather than a node entry.
 */
function noRoute(out: Int32Array, items: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) out[items[j]] = -1;
}

/** The answer of an item that reached a RECORD: the FIB's next hop, -1 for NO_ROUTE. */
function recordAnswer(image: Int32Array, vrf: Int32Array | null, i: number, e: number): number {
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
  // -1 for NO_ROUTE without a branch: (e ^ NO_ROUTE) - 1 is negative only when e === NO_ROUTE.
  return e | (((e ^ NO_ROUTE) - 1) >> 31);
}

/** Items of b..end that stopped at a RECORD get their FIB's answer (the rest are final already). */
function finishPass(image: Int32Array, vrf: Int32Array | null, out: Int32Array, b: number, end: number): void {
  for (let i = b; i < end; i++) {
    const e = out[i];
    if (e >= 0x40000000) out[i] = recordAnswer(image, vrf, i, e);
  }
}

function finishList(image: Int32Array, vrf: Int32Array | null, out: Int32Array, items: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const e = out[i];
    if (e >= 0x40000000) out[i] = recordAnswer(image, vrf, i, e);
  }
}
