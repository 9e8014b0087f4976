/**
 * The multi-FIB image, layout 2 (IPv4): the contract every backend's lookup kernel implements.
 *
 * Design in one paragraph (the numbers behind it are in design-note.md beside this file):
 * all FIBs share one trie *shape* — the union of their prefixes, leaf-pushed into a 16-8-8
 * multibit trie — and a leaf says either "every FIB answers next hop N" or "see record R",
 * where R lists only the FIBs whose answer differs from a default. Identical nodes and
 * identical records are stored once (hash-consed). So K FIBs that are mostly the same table
 * cost one table plus their differences, and the walk (at most 3 node reads) does not depend
 * on the FIB, which keeps GPU threads coherent and the FPGA pipeline fixed-length.
 *
 * Words (u32):
 *   header, 16 words at offset 0 (H_* below).
 *   L0: 65536 entries indexed by address bits 31..16, at header[H_L0].
 *   entry e (32 bits): tag = e >>> 30
 *     0 LEAF        next-hop index e & 0x3fffffff, same for all FIBs (NO_ROUTE = 0x3fffffff)
 *     1 RECORD      word offset e & 0x3fffffff of a per-FIB record
 *     2 NODE        word offset e & 0x3fffffff of a stride-8 node with 32-bit run entries
 *     3 NARROW_NODE word offset e & 0x3fffffff of a stride-8 node with 16-bit run entries
 *   node (stride 8, 256 slots, run-compressed), NODE_HEADER_WORDS = 10 header words:
 *     word w (w = 0..7)   bitmap of chunk w: bit b set <=> slot 32w+b starts a new run
 *                         (slot 0 always does)
 *     word 8 + (w >>> 2), byte (w & 3) (bits 8(w&3)..8(w&3)+7): runs starting in chunks
 *                         0..w-1 (at most 224, so a byte; chunk 0's byte is always 0)
 *     run k of a slot:    k = count(w) + popcount(bitmap(w) & (0xffffffff >>> (31 - b))) - 1,
 *                         with w = s >>> 5, b = s & 31
 *     NODE:        run k's entry is word 10 + k (any 32-bit entry).
 *     NARROW_NODE: run k's entry is the 16-bit half (k & 1) of word 10 + (k >>> 1) (half 0 =
 *                  bits 0..15); a half h is the LEAF h, except NARROW_NO_ROUTE (0xffff), which
 *                  is NO_ROUTE. A node is narrow exactly when all its entries are leaves with
 *                  next hop < 0xffff or NO_ROUTE (the builder decides; kernels just follow the
 *                  tag). An odd run count leaves the last half 0.
 *     Level-1 nodes are indexed by address bits 15..8, level-2 by 7..0; a level-2 node never
 *     holds a node entry, and a node always has at least two runs.
 *   record: word 0 default entry (a LEAF value), word 1 count n, then n pairs (fib, LEAF value)
 *     sorted by fib; FIBs not listed take the default.
 *
 * Layout 1 differed only in the node: 16 header words (bitmap, count pairs) and 32-bit run
 * entries always. Layout 2 is what brings one full table under 4 MiB (design-note.md).
 *
 * Publishing: a route change writes new nodes/records into free space first, then one word
 * (an L0 entry or a node's run entry) points at them; a change spanning several L0 entries
 * writes a new L0 table and flips header[H_L0] last. Lookups see old or new, never a mix.
 *
 * IPv6 (planned): header[H_FAMILY] = 6, an L0 over bits 127..112, then 14 levels of the same
 * stride-8 node; entries, nodes and records are unchanged, so kernels gain only a loop bound.
 */
import type { ImageDelta } from '../image.js';
import { registerStructureKind } from '../structure-kinds.js';

export const MAGIC = 0x48425846; // 'HBXF'
export const LAYOUT_VERSION = 2;

export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_FAMILY = 2;
export const H_FIB_COUNT = 3;
export const H_L0 = 4;
export const H_GENERATION = 5;
export const H_USED_WORDS = 6;
export const HEADER_WORDS = 16;

export const L0_BITS = 16;
export const L0_ENTRIES = 1 << L0_BITS;
export const NODE_HEADER_WORDS = 10;
/** Word of a node holding the run counts of chunks 0..3 (the next word: chunks 4..7). */
export const NODE_COUNT_WORD = 8;
export const NODE_SLOTS = 256;
/** Node levels a walk follows at most (valid IPv4 images use 2; the WGSL form stops at the same bound). */
export const MAX_NODE_LEVELS = 4;

export const TAG_LEAF = 0;
export const TAG_RECORD = 1;
export const TAG_NODE = 2;
export const TAG_NARROW_NODE = 3;
export const VALUE_MASK = 0x3fffffff;
export const NO_ROUTE = 0x3fffffff;
/** Largest next-hop index an entry can carry. */
export const MAX_NEXT_HOP = NO_ROUTE - 1;
/** The 16-bit run entry of a narrow node that means NO_ROUTE. */
export const NARROW_NO_ROUTE = 0xffff;

export const leafEntry = (nextHop: number): number => nextHop & VALUE_MASK;
export const recordEntry = (offset: number): number => ((TAG_RECORD << 30) | offset) >>> 0;
export const nodeEntry = (offset: number): number => ((TAG_NODE << 30) | offset) >>> 0;
export const narrowNodeEntry = (offset: number): number => ((TAG_NARROW_NODE << 30) | offset) >>> 0;

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * The CPU reference lookup: next-hop index for `address` (u32 or its int32 bit pattern) in FIB
 * `fib`, or -1 when no route matches. Every backend's kernel is tested against this function:
 * it is the reference of kernel ip-lookup (core/kernels/ip-lookup/README.md lists every form).
 */
export function lookupImage(image: Uint32Array | Int32Array, fib: number, address: number): number {
  let e = image[image[H_L0] + (address >>> 16)] >>> 0;
  let shift = 8;
  // Bounded like the device forms (a valid IPv4 image has at most 2 node levels), so a malformed
  // image whose node points back at itself cannot hang the reference or the null backend.
  for (let depth = 0; e >>> 30 >= TAG_NODE && depth < MAX_NODE_LEVELS; depth++) {
    const node = e & VALUE_MASK;
    const slot = (address >>> shift) & 255;
    const w = slot >>> 5;
    const bits = image[node + w] & (0xffffffff >>> (31 - (slot & 31)));
    const k = ((image[node + NODE_COUNT_WORD + (w >>> 2)] >>> ((w & 3) << 3)) & 255) + popcount32(bits) - 1;
    if (e >>> 30 === TAG_NODE) {
      e = image[node + NODE_HEADER_WORDS + k] >>> 0;
    } else {
      const h = (image[node + NODE_HEADER_WORDS + (k >>> 1)] >>> ((k & 1) << 4)) & 0xffff;
      e = h === NARROW_NO_ROUTE ? NO_ROUTE : h;
    }
    shift -= 8;
  }
  if (e >>> 30 === TAG_RECORD) {
    const r = e & VALUE_MASK;
    const n = image[r + 1];
    e = image[r] >>> 0;
    for (let i = 0; i < n; i++) {
      const f = image[r + 2 + 2 * i];
      if (f === fib) {
        e = image[r + 3 + 2 * i] >>> 0;
        break;
      }
      if (f > fib) break;
    }
  }
  return e === NO_ROUTE ? -1 : e;
}

/** The structure kind of this layout, as backends and deltas name it. */
export const MULTI_FIB_V4 = 'multi-fib-v4';

/** Why `image` is not a multi-FIB v4 image, or null (header, magic, lengths; the trie is not walked). */
export function checkMultiFibImage(image: Uint32Array): string | null {
  if (image.length < HEADER_WORDS + L0_ENTRIES) return `shorter than a ${HEADER_WORDS}-word header and a ${L0_ENTRIES}-entry L0 table`;
  if (image[H_MAGIC] !== MAGIC) return `magic 0x${(image[H_MAGIC] >>> 0).toString(16)} at word ${H_MAGIC}, expected 0x${MAGIC.toString(16)}`;
  if (image[H_VERSION] !== LAYOUT_VERSION) return `layout version ${image[H_VERSION]}, expected ${LAYOUT_VERSION}`;
  if (image[H_FAMILY] !== 4) return `address family ${image[H_FAMILY]}, expected 4`;
  if (image[H_USED_WORDS] > image.length) return `header says ${image[H_USED_WORDS]} words used, the image has ${image.length}`;
  if (image[H_L0] < HEADER_WORDS || image[H_L0] + L0_ENTRIES > image.length) return `L0 table at word ${image[H_L0]} does not lie within words ${HEADER_WORDS}..${image.length}`;
  return null;
}

/** The value a delta leaves in header word `h`, or undefined when it does not write it (last write wins). */
function headerAfter(delta: ImageDelta, h: number): number | undefined {
  let v: number | undefined;
  for (const w of delta.writes) if (w.offset <= h && h < w.offset + w.words.length) v = w.words[h - w.offset];
  return v;
}

/**
 * Why `delta` cannot apply to a multi-FIB image, or null: it keeps the header's identity, the
 * used words it writes to the header lie within its length, and the L0 table inside the image.
 * (The builder writes the used count with every commit; words past it are free space.)
 */
export function checkMultiFibDelta(delta: ImageDelta): string | null {
  if (delta.length < HEADER_WORDS + L0_ENTRIES) return `length ${delta.length} is shorter than a header and an L0 table`;
  const fixed: [number, number, string][] = [[H_MAGIC, MAGIC, 'magic'], [H_VERSION, LAYOUT_VERSION, 'layout version'], [H_FAMILY, 4, 'address family']];
  for (const [h, want, what] of fixed) {
    const v = headerAfter(delta, h);
    if (v !== undefined && v !== want) return `writes ${what} ${v} (word ${h}), expected ${want}`;
  }
  const used = headerAfter(delta, H_USED_WORDS);
  if (used !== undefined && used > delta.length) return `writes ${used} used words to the header (word ${H_USED_WORDS}), its length is ${delta.length}`;
  const l0 = headerAfter(delta, H_L0);
  if (l0 !== undefined && (l0 < HEADER_WORDS || l0 + L0_ENTRIES > delta.length)) return `moves the L0 table to word ${l0}, outside words ${HEADER_WORDS}..${delta.length}`;
  return null;
}

registerStructureKind({
  kind: MULTI_FIB_V4,
  description: 'shared-prefix multi-FIB, IPv4, layout 2 (core/structures/multi-fib/)',
  publishWords: HEADER_WORDS,
  checkImage: checkMultiFibImage,
  checkDelta: checkMultiFibDelta,
});
