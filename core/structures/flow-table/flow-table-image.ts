/**
 * The flow table's flat image and its lookup: the layout every backend holds, and the CPU
 * reference of the flow-lookup kernel (key -> entry index or miss).
 *
 * Layout (u32 words):
 *   header, HEADER_WORDS: magic, layout version, buckets (a power of two), slots per bucket,
 *     words per entry, key words, hash seed, reserved
 *   entries: entry e starts at HEADER_WORDS + e * entryWords; bucket b holds entries
 *     b*slots .. b*slots+slots-1. Entry words:
 *       0        status: ENTRY_USED, ENTRY_REVERSED (the first packet ran against the canonical
 *                key: it is the reply side), TCP flag bits (tcp-state.ts) in the low byte(s)
 *       1..10    the key (core/flows/flow-key.ts)
 *       11, 12   first packet time (seconds, nanoseconds)
 *       13, 14   last packet time
 *       15       reserved
 *       16..     flow-local storage of every element that declared fields (flow-fields.ts)
 *
 * A key lives in one of two buckets (two-choice hashing: bucket h1 or h2 of its murmur3 hash),
 * so a lookup reads at most 2 x slots entries and entries never move once inserted: an entry
 * index is a stable flow id for the flow's lifetime, and a delta is a set of whole-entry writes.
 */
import { KEY_WORDS } from '../../flows/flow-key.js';
import type { ImageDelta } from '../image.js';
import { registerStructureKind } from '../structure-kinds.js';

export const FLOW_TABLE_MAGIC = 0x464c4f57; // 'FLOW'
export const FLOW_TABLE_LAYOUT = 1;
export const HEADER_WORDS = 8;
export const H_MAGIC = 0;
export const H_LAYOUT = 1;
export const H_BUCKETS = 2;
export const H_SLOTS = 3;
export const H_ENTRY_WORDS = 4;
export const H_KEY_WORDS = 5;
export const H_SEED = 6;

/** Entry word offsets. */
export const E_STATUS = 0;
export const E_KEY = 1;
export const E_FIRST_SEC = E_KEY + KEY_WORDS;
export const E_FIRST_NSEC = E_FIRST_SEC + 1;
export const E_LAST_SEC = E_FIRST_SEC + 2;
export const E_LAST_NSEC = E_FIRST_SEC + 3;
export const ENTRY_FIXED_WORDS = E_FIRST_SEC + 5;

/** The structure kind's name: images and deltas of the flow table carry it. */
export const FLOW_TABLE = 'flow-table';

export const ENTRY_USED = 0x80000000;
export const ENTRY_REVERSED = 0x40000000;

/** A miss in the lookup's output column. */
export const FLOW_MISS = -1;

/** murmur3_32 of the key words at keys[k..k+KEY_WORDS) with `seed`. */
export function flowKeyHash(keys: Uint32Array, k: number, seed: number): number {
  let h = seed | 0;
  for (let w = 0; w < KEY_WORDS; w++) {
    let x = Math.imul(keys[k + w], 0xcc9e2d51);
    x = (x << 15) | (x >>> 17);
    h ^= Math.imul(x, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ (KEY_WORDS * 4));
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key's two candidate buckets (distinct when there are two or more buckets). */
export function candidateBuckets(hash: number, buckets: number): [number, number] {
  const mask = buckets - 1;
  const b1 = hash & mask;
  let b2 = fmix32(hash ^ 0x9e3779b9) & mask;
  if (b2 === b1) b2 = (b1 ^ 1) & mask;
  return [b1, b2];
}

/** Word offset of entry `e` in an image of `entryWords`-word entries. */
export function entryBase(e: number, entryWords: number): number {
  return HEADER_WORDS + e * entryWords;
}

/**
 * The flow-lookup kernel's CPU reference: for each of `count` keys (keys[i*KEY_WORDS..]), the
 * index of the used entry holding that key in `image`, or FLOW_MISS. Pure: reads only the image
 * (its geometry from the header) and the key column.
 */
export function flowLookup(image: Uint32Array, keys: Uint32Array, count: number, out: Int32Array): void {
  const buckets = image[H_BUCKETS];
  const slots = image[H_SLOTS];
  const ew = image[H_ENTRY_WORDS];
  const seed = image[H_SEED];
  for (let i = 0; i < count; i++) out[i] = lookupOne(image, keys, i * KEY_WORDS, buckets, slots, ew, seed);
}

/** One key of `flowLookup` (the flow table's writer uses it too). */
export function lookupOne(image: Uint32Array, keys: Uint32Array, k: number, buckets: number, slots: number, ew: number, seed: number): number {
  const [b1, b2] = candidateBuckets(flowKeyHash(keys, k, seed), buckets);
  for (let pass = 0; pass < 2; pass++) {
    const first = (pass === 0 ? b1 : b2) * slots;
    for (let e = first; e < first + slots; e++) {
      const p = HEADER_WORDS + e * ew;
      if ((image[p] & ENTRY_USED) === 0) continue;
      let w = 0;
      while (w < KEY_WORDS && image[p + E_KEY + w] === keys[k + w]) w++;
      if (w === KEY_WORDS) return e;
    }
    if (b2 === b1) break;
  }
  return FLOW_MISS;
}

/** Why `image` is not a flow-table image (header identity, geometry, length), or null. */
export function checkFlowTableImage(image: Uint32Array): string | null {
  if (image.length < HEADER_WORDS) return `shorter than its ${HEADER_WORDS}-word header`;
  return checkGeometry((h) => image[h], image.length);
}

/** Why `delta` cannot apply to a flow-table image now `length` words long, or null: the table's geometry is fixed, so the length stays and header writes keep it. */
export function checkFlowTableDelta(delta: ImageDelta, length: number): string | null {
  if (delta.length !== length) return `changes the length from ${length} to ${delta.length} words (a flow table does not resize)`;
  for (const w of delta.writes) if (w.offset + w.words.length > delta.length) return `writes words ${w.offset}..${w.offset + w.words.length} past its length ${delta.length}`;
  const header = delta.writes.find((w) => w.offset === 0 && w.words.length >= HEADER_WORDS);
  return header === undefined ? null : checkGeometry((h) => header.words[h], length);
}

function checkGeometry(word: (h: number) => number, length: number): string | null {
  if (word(H_MAGIC) >>> 0 !== FLOW_TABLE_MAGIC) return `magic 0x${(word(H_MAGIC) >>> 0).toString(16)}, expected 0x${FLOW_TABLE_MAGIC.toString(16)}`;
  if (word(H_LAYOUT) !== FLOW_TABLE_LAYOUT) return `layout ${word(H_LAYOUT)}, expected ${FLOW_TABLE_LAYOUT}`;
  const buckets = word(H_BUCKETS);
  const slots = word(H_SLOTS);
  const ew = word(H_ENTRY_WORDS);
  if (buckets === 0 || (buckets & (buckets - 1)) !== 0) return `${buckets} buckets, not a power of two`;
  if (slots === 0) return 'no slots per bucket';
  if (word(H_KEY_WORDS) !== KEY_WORDS) return `${word(H_KEY_WORDS)} key words, expected ${KEY_WORDS}`;
  if (ew < ENTRY_FIXED_WORDS) return `${ew} words per entry, fewer than the ${ENTRY_FIXED_WORDS} fixed ones`;
  const want = HEADER_WORDS + buckets * slots * ew;
  if (length !== want) return `length ${length} words, the header says ${want} (${buckets} buckets x ${slots} slots x ${ew} words + header)`;
  return null;
}

registerStructureKind({
  kind: FLOW_TABLE,
  description: 'flow table, two-choice buckets of fixed-size entries, layout 1 (core/structures/flow-table/)',
  publishWords: HEADER_WORDS,
  checkImage: checkFlowTableImage,
  checkDelta: checkFlowTableDelta,
});
