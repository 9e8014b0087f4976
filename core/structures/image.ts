/**
 * Virtualized structure images and the deltas that update them.
 *
 * A structure (a multi-FIB, a flow table) has one logical form and one flat image of u32
 * words. Every backend holds the image in its own memory (typed array, storage buffer,
 * BRAM words) and applies deltas to it. A delta's writes are ordered: the last writes are
 * the ones that publish a new version (a root pointer flip), so a reader sees the old or the
 * new table, never a mix.
 *
 * An image's length is its logical length, the same on every backend whatever capacity a
 * backend keeps behind it: a delta sets it (grow or shrink), words it adds and does not write
 * are zero, and words a shrink drops read as zero if a later delta grows over them again.
 * That makes an image read back from any backend comparable word for word (migration).
 */

/**
 * A structure kind's name ('multi-fib-v4', next 'flow-table', 'multi-fib-v6'). Kinds are an open
 * set: each registers its layout checks in core/structures/structure-kinds.ts.
 */
export type StructureKind = string;

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
  /** Image length in words after the delta (grows, or shrinks by compaction). */
  length: number;
  /** Apply in order; publishing writes come last. */
  writes: ImageWrite[];
}

/**
 * Applying a delta to a bare array: the same array when it is long enough, else a grown copy
 * (so the result may be longer than `delta.length`). Holders that need the logical length
 * (every backend, the offload runner's host copy) use HostImage (host-image.ts).
 */
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
