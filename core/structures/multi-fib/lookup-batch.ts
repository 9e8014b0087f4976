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
 * Tags are tested on the int32 value: a NODE entry (tag 2) is negative, a RECORD (tag 1) is
 * at least 2^30, a LEAF (tag 0) is below that (NO_ROUTE = 2^30 - 1).
 */
import { H_L0, NO_ROUTE } from './image-format.js';

const BLOCK = 1024;
const level1 = new Int32Array(BLOCK);
const level2 = new Int32Array(BLOCK);
const runIndex = new Int32Array(BLOCK);

export function lookupBatch(image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number): void {
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
 * One node level for the items listed in `items` (`shift` 8: bits 15..8, 0: bits 7..0); lists
 * those that reach another node. Two passes: the first only computes each item's run index
 * from its chunk words, the second only loads entries, so each pass's cache misses are
 * independent of one another and overlap.
 */
function nodePass(image: Int32Array, dst: Int32Array, out: Int32Array, items: Int32Array, n: number, next: Int32Array, shift: number): number {
  const where = runIndex;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const a = dst[i] >>> shift;
    const node = out[i] & 0x3fffffff;
    const w = node + ((a >>> 4) & 14);
    let x = image[w] & ((2 << (a & 31)) - 1);
    x = x - ((x >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    x = Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
    where[j] = node + 15 + image[w + 1] + x;
  }
  let m = 0;
  for (let j = 0; j < n; j++) {
    const i = items[j];
    const e = image[where[j]];
    out[i] = e;
    next[m] = i;
    m += e >>> 31;
  }
  return m;
}

function finishPass(image: Int32Array, vrf: Int32Array | null, out: Int32Array, b: number, end: number): void {
  for (let i = b; i < end; i++) {
    let e = out[i];
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
    out[i] = e | (((e ^ NO_ROUTE) - 1) >> 31);
  }
}
