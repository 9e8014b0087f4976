/**
 * An image checksum that follows deltas in O(delta words): the sum (mod 2^32) of a hash of each
 * (word, position). A delta's write at position p changes the sum by hash(new, p) - hash(old, p),
 * so a migration keeps one on each side (the image it copied plus every delta published since;
 * the target's read-back plus every delta after the read) and compares two numbers in its stop
 * phase instead of the images word for word.
 *
 * The word hash is a bijection of the word for each position (a single changed word always
 * changes the sum) and is 0 for a zero word, so words past the end of an image count as zeros
 * and an image that grows or shrinks needs no special case beyond clearing what it drops.
 */
import type { ImageDelta } from '../structures/image.js';

/** Words hashed between two turns of the event loop: a full table's first sum must not stall the traffic. */
const SLICE_WORDS = 1 << 17;

/** murmur3's finalizer: a bijection of 32-bit words. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash(word, position): for each position a bijection of the word, and 0 for a zero word. */
export function wordHash(word: number, position: number): number {
  const salt = Math.imul(position + 1, 0x9e3779b1) >>> 0;
  return (fmix32((word ^ salt) >>> 0) ^ fmix32(salt)) >>> 0;
}

/** The checksum of `words`, all at once (tests; small images). */
export function imageChecksum(words: Uint32Array): number {
  let sum = 0;
  for (let p = 0; p < words.length; p++) sum = (sum + wordHash(words[p], p)) | 0;
  return sum >>> 0;
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A copy of an image at a generation, and its checksum, kept current by applying deltas.
 * The first sum is computed in slices (`ready`); deltas applied before it is done are queued
 * and applied in order once it is.
 */
export class ImageShadow {
  private words: Uint32Array;
  private used: number;
  private sum = 0;
  private gen: number;
  private queued: ImageDelta[] | null = [];
  /** Settles once the first sum is done and queued deltas are applied. */
  readonly ready: Promise<void>;

  /** Takes ownership of `words` (the caller's copy). */
  constructor(words: Uint32Array, generation: number) {
    this.words = words;
    this.used = words.length;
    this.gen = generation;
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    let sum = 0;
    const w = this.words;
    for (let from = 0; from < this.used; from += SLICE_WORDS) {
      const to = Math.min(this.used, from + SLICE_WORDS);
      for (let p = from; p < to; p++) sum = (sum + wordHash(w[p], p)) | 0;
      if (to < this.used) await yieldTurn();
    }
    this.sum = sum;
    const q = this.queued ?? [];
    this.queued = null;
    for (const d of q) this.applyNow(d);
  }

  get generation(): number {
    return this.gen;
  }

  get length(): number {
    return this.used;
  }

  /** The checksum now (meaningful once `ready` settled). */
  get checksum(): number {
    return this.sum >>> 0;
  }

  /** Whether the first sum is done (until then checksum and generation lag the deltas queued). */
  get isReady(): boolean {
    return this.queued === null;
  }

  /** The image (a view, valid until the next apply). */
  get image(): Uint32Array {
    return this.words.subarray(0, this.used);
  }

  /** Apply a delta that follows this shadow's generation (one that does not is an error: the caller lost one). */
  apply(delta: ImageDelta): void {
    if (this.queued !== null) this.queued.push(delta);
    else this.applyNow(delta);
  }

  private applyNow(d: ImageDelta): void {
    if (d.fromGeneration !== this.gen) throw new Error(`checksum: delta ${d.fromGeneration}->${d.toGeneration} does not follow generation ${this.gen}`);
    let sum = this.sum;
    if (d.length > this.words.length) {
      const grown = new Uint32Array(Math.max(d.length, Math.ceil(this.words.length * 1.5)));
      grown.set(this.words.subarray(0, this.used));
      this.words = grown;
    } else if (d.length < this.used) {
      // Dropped words leave the sum and read as zero if the image grows over them again.
      for (let p = d.length; p < this.used; p++) sum = (sum - wordHash(this.words[p], p)) | 0;
      this.words.fill(0, d.length, this.used);
    }
    this.used = d.length;
    const w = this.words;
    for (const wr of d.writes) {
      const src = wr.words;
      for (let j = 0; j < src.length; j++) {
        const p = wr.offset + j;
        const v = src[j] >>> 0;
        sum = (sum - wordHash(w[p], p) + wordHash(v, p)) | 0;
        w[p] = v;
      }
    }
    this.sum = sum;
    this.gen = d.toGeneration;
  }
}
