/**
 * Reading layout-2 nodes slot by slot for tests (image-format.ts is the contract; this follows
 * `lookupImage`'s step for one slot): what canonical comparisons and width checks need.
 */
import { NARROW_NO_ROUTE, NODE_COUNT_WORD, NODE_HEADER_WORDS, NO_ROUTE, TAG_NARROW_NODE, TAG_NODE, VALUE_MASK, popcount32 } from '../../core/structures/multi-fib/image-format.js';

/** The entry slot `s` (0..255) of the node `e` (a NODE or NARROW_NODE entry) leads to. */
export function slotEntry(image: Uint32Array, e: number, s: number): number {
  const tag = e >>> 30;
  if (tag !== TAG_NODE && tag !== TAG_NARROW_NODE) throw new Error(`entry 0x${e.toString(16)} is not a node`);
  const node = e & VALUE_MASK;
  const w = s >>> 5;
  const k = ((image[node + NODE_COUNT_WORD + (w >>> 2)] >>> ((w & 3) << 3)) & 255) + popcount32(image[node + w] & (0xffffffff >>> (31 - (s & 31)))) - 1;
  if (tag === TAG_NODE) return image[node + NODE_HEADER_WORDS + k] >>> 0;
  const h = (image[node + NODE_HEADER_WORDS + (k >>> 1)] >>> ((k & 1) << 4)) & 0xffff;
  return h === NARROW_NO_ROUTE ? NO_ROUTE : h;
}

/** Number of runs of the node at `e` (the bits set in its 8 bitmap words). */
export function runCount(image: Uint32Array, e: number): number {
  const node = e & VALUE_MASK;
  let n = 0;
  for (let w = 0; w < 8; w++) n += popcount32(image[node + w]);
  return n;
}

/** Words the node at `e` occupies: header and run entries (two per word when narrow, rounded up). */
export function nodeWords(image: Uint32Array, e: number): number {
  const runs = runCount(image, e);
  return NODE_HEADER_WORDS + (e >>> 30 === TAG_NARROW_NODE ? (runs + 1) >>> 1 : runs);
}
