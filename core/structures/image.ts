/**
 * Virtualized structure images and the deltas that update them.
 *
 * A structure (a multi-FIB, a flow table) has one logical form and one flat image of u32
 * words. Every backend holds the image in its own memory (typed array, storage buffer,
 * BRAM words) and applies deltas to it. A delta's writes are ordered: the last writes are
 * the ones that publish a new version (a root pointer flip), so a reader sees the old or the
 * new table, never a mix.
 */

export type StructureKind = 'multi-fib-v4' | 'flow-table';

export interface ImageWrite {
  /** Word offset in the image. */
  offset: number;
  words: Uint32Array;
}

export interface ImageDelta {
  kind: StructureKind;
  /** Generation the delta applies to, and the one it produces. */
  fromGeneration: number;
  toGeneration: number;
  /** Image length in words after the delta (an image grows, and may shrink only by compaction). */
  length: number;
  /** Apply in order; publishing writes come last. */
  writes: ImageWrite[];
}

/** The CPU reference of applying a delta: returns the same array when it is long enough, else a grown copy. */
export function applyDeltaToImage(image: Uint32Array, delta: ImageDelta): Uint32Array {
  let out = image;
  if (delta.length > image.length) {
    out = new Uint32Array(Math.max(delta.length, Math.ceil(image.length * 1.5)));
    out.set(image);
  }
  for (const w of delta.writes) out.set(w.words, w.offset);
  return out;
}

/** Words a delta writes (what crossing a bus costs). */
export function deltaWords(delta: ImageDelta): number {
  let n = 0;
  for (const w of delta.writes) n += w.words.length;
  return n;
}
