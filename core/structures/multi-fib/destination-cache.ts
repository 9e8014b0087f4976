/**
 * The /24 answer cache of the CPU batch lookup (`lookup-batch.ts`, which holds the slots): what
 * makes cache-hot traffic (few distinct destinations, e.g. a capture replayed) cost one probe
 * per packet, about what a DIR-24-8 costs, instead of a trie walk. It is derived from the
 * image, never part of it: backends with their own copy of the image (WebGPU, gpu.js, FPGA) do
 * not see it, and the image's layout is unchanged.
 *
 * Slot h = address bits 8+SLOT_BITS-1..8 holds (key = address >>> 8, v): v is what the walk
 * reaches by level 1 for that /24 -- a LEAF as its answer (-1 for NO_ROUTE), a RECORD as the
 * record (the FIB is chosen afterwards, so one slot serves every FIB). /24s under a level-2
 * node are never cached (their answer differs within the /24). Empty slots hold key -1.
 *
 * One cache per process, owned by one image at a time (the last one looked up; all FIBs of a
 * router share one multi-FIB image, so that is the one). This file keeps the owner: the
 * image's buffer (weakly), byte offset and generation, and the int32 view last looked up. That
 * view is held strongly: a batch on the same view object (IPLookup's inline path keeps one) is
 * checked by identity and the generation word alone, while reading a view's `buffer` and
 * dereferencing a WeakRef cost a runtime call each, a few percent of a 1024-address batch of
 * cache-hot traffic (measured). So the cache keeps the last image looked up alive until another
 * image is looked up or `releaseCacheOwner()` is called; other views of the same image (the cpu
 * backend makes one per run) take the slower check and then become the held view.
 *
 * Exactness: the slots are the owner's answers for as long as the owner is the image they were
 * filled from. Images change only by deltas, and every delta writes the header's generation
 * (multi-fib.ts commits); the cache is emptied whenever the generation differs from the one it
 * was filled under, or another image takes it over (checked at every batch). So the cache is
 * exact when deltas are applied whole between lookup batches -- what every holder of an image
 * does (HostImage.apply and MultiFib's commits are synchronous), and what the design note
 * already requires of backends. (A reader inside a half-applied delta, the case
 * test/multi-fib/deltas.test.ts checks with `lookupImage`, is a concurrent-hardware concern:
 * the batch lookup is never one.)
 *
 * Memory: 2^SLOT_BITS * 8 bytes (32 KiB), `CACHE_BYTES`, once per process.
 */
import { H_GENERATION } from './image-format.js';

const SLOT_BITS = 12;
export const CACHE_SLOTS = 1 << SLOT_BITS;
const SLOTS = CACHE_SLOTS;
/** A slot's first word is at (address >>> 7) & CACHE_INDEX_MASK, i.e. ((address >>> 8) & (SLOTS - 1)) * 2. */
export const CACHE_INDEX_MASK = (SLOTS - 1) << 1;

/**
 * Lookups the cache sits out after a batch where it did not pay (more than 1/8 of the batch's
 * first block of 1024, or of the rest of the batch, missed it), or after a switch to another
 * image: uniformly random addresses, or traffic alternating between images, then run the plain
 * walk, and the cache is tried again after this many lookups.
 */
export const SKIP_LOOKUPS = 32 * 1024;

/** Whose answers the slots (in lookup-batch.ts) hold: an image (by buffer, weakly, and byte offset) and its generation. */
class CacheOwner {
  /** The view of the last batch: a batch on this very object skips the buffer check. */
  view: Int32Array | null = null;
  buffer: WeakRef<ArrayBufferLike> | null = null;
  byteOffset = -1;
  generation = -1;
  /** Lookups left to run without the cache (see SKIP_LOOKUPS). */
  skip = 0;
  /** The slots hold another image's or generation's answers: empty them before the next probe. */
  stale = true;
}

export const cacheOwner = new CacheOwner();

/**
 * Make `image` the cache's owner: another image empties the cache and makes it sit out
 * SKIP_LOOKUPS lookups (traffic alternating between images would only refill it), another
 * generation of the same image empties it. Returns the owner (its `skip` and `stale`).
 */
export function ownCache(image: Int32Array): CacheOwner {
  const o = cacheOwner;
  if (image !== o.view) {
    const buffer = image.buffer;
    if (o.buffer === null || o.buffer.deref() !== buffer || o.byteOffset !== image.byteOffset) {
      o.buffer = new WeakRef(buffer);
      o.byteOffset = image.byteOffset;
      o.generation = image[H_GENERATION];
      o.stale = true;
      o.skip = SKIP_LOOKUPS;
    }
    o.view = image;
  }
  if (o.generation !== image[H_GENERATION]) {
    o.generation = image[H_GENERATION];
    o.stale = true;
  }
  return o;
}

/** Drop the strong hold on the last view looked up (the next batch checks its buffer again). */
export function releaseCacheOwner(): void {
  cacheOwner.view = null;
}

/** Bytes the cache holds (one per process). */
export const CACHE_BYTES = SLOTS * 8;
