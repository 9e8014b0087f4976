/**
 * A per-image cache of /24 answers for the CPU batch lookup (`lookup-batch.ts`): what makes
 * cache-hot traffic (few distinct destinations, e.g. a capture replayed) cost one probe per
 * packet, about what a DIR-24-8 costs, instead of a trie walk. It is derived from the image,
 * never part of it: backends with their own copy of the image (WebGPU, gpu.js, FPGA) do not
 * see it, and the image's layout is unchanged.
 *
 * Slot h = address bits 8+SLOT_BITS-1..8 holds (key = address >>> 8, v): v is what the walk
 * reaches by level 1 for that /24 -- a LEAF as its answer (-1 for NO_ROUTE), a RECORD as the
 * record (the FIB is chosen afterwards, so one slot serves every FIB). /24s under a level-2
 * node are never cached (their answer differs within the /24). Empty slots hold key -1.
 *
 * Exactness: a slot is the image's answer for as long as the image is the one it was filled
 * from. Images change only by deltas, and every delta writes the header's generation
 * (multi-fib.ts commits); the cache is emptied whenever the generation it was filled under
 * differs from the image's (checked at every batch). So the cache is exact when deltas are
 * applied whole between lookup batches -- what every holder of an image does (HostImage.apply
 * and MultiFib's commits are synchronous), and what the design note already requires of
 * backends. (A reader inside a half-applied delta, the case test/multi-fib/deltas.test.ts
 * checks with `lookupImage`, is a concurrent-hardware concern: the batch lookup is never one.)
 *
 * The cache is found by the image's ArrayBuffer (a WeakMap, so it goes with the image; every
 * new image -- a build, a HostImage, a grown store -- has its own buffer) and its byte offset.
 * Memory: 2^SLOT_BITS * 8 bytes (32 KiB), `CACHE_BYTES`.
 */
import { H_GENERATION } from './image-format.js';

const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;
/** A slot's first word is at (address >>> 7) & CACHE_INDEX_MASK, i.e. ((address >>> 8) & (SLOTS - 1)) * 2. */
export const CACHE_INDEX_MASK = (SLOTS - 1) << 1;

/**
 * Lookups the cache sits out after a batch where it did not pay (more than 1/8 of the batch
 * missed it): uniformly random addresses then run the plain walk, probing again after this
 * many lookups.
 */
export const SKIP_LOOKUPS = 32 * 1024;

export class DestinationCache {
  /** Slot s at words 2s (key: address >>> 8, -1 when empty) and 2s+1 (v). */
  readonly words = new Int32Array(SLOTS * 2).fill(-1);
  generation = -1;
  byteOffset = -1;
  /** Lookups left to run without the cache (see SKIP_LOOKUPS). */
  skip = 0;

  clear(): void {
    this.words.fill(-1);
  }
}

const caches = new WeakMap<ArrayBufferLike, DestinationCache>();
// The view and cache of the last call: a batch loop passes the same view every call, and this
// saves the WeakMap and the buffer/byteOffset getters (~0.2x of a cache-hot 1024-item batch).
// It keeps that one view's image alive until a call with another view.
let lastView: Int32Array | null = null;
let lastCache = new DestinationCache();

/** The cache for `image`, emptied when the image's generation (or its place in the buffer) changed. */
export function cacheFor(image: Int32Array): DestinationCache {
  let c = lastCache;
  if (image !== lastView) {
    const found = caches.get(image.buffer);
    if (found === undefined) caches.set(image.buffer, (c = new DestinationCache()));
    else c = found;
    if (c.byteOffset !== image.byteOffset) {
      c.clear();
      c.generation = image[H_GENERATION];
      c.byteOffset = image.byteOffset;
    }
    lastView = image;
    lastCache = c;
  }
  const gen = image[H_GENERATION];
  if (c.generation !== gen) {
    c.clear();
    c.generation = gen;
  }
  return c;
}

/** Bytes one image's cache holds. */
export const CACHE_BYTES = SLOTS * 8;
