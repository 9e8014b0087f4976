/**
 * The CPU reference of holding an image and applying deltas to it (the cpu and null backends,
 * gpujs's host side, the offload runner's host copy). Capacity grows by half again so a run of
 * growing deltas does not copy the image each time; `words` is always the logical image.
 */
import type { ImageDelta } from './image.js';

export class HostImage {
  private buffer: Uint32Array;
  private used: number;

  /** Holds a copy: the caller keeps mutating its own image as it builds the next generation. */
  constructor(image: Uint32Array) {
    this.buffer = new Uint32Array(image);
    this.used = image.length;
  }

  /** Logical length in words. */
  get length(): number {
    return this.used;
  }

  /** The image (a view of the first `length` words, valid until the next apply). */
  get words(): Uint32Array {
    return this.buffer.subarray(0, this.used);
  }

  /** Capacity held, in bytes (memory accounting). */
  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /** Apply a delta already checked against this image (checkDelta in structure-kinds.ts). */
  apply(delta: ImageDelta): void {
    if (delta.length > this.buffer.length) {
      const grown = new Uint32Array(Math.max(delta.length, Math.ceil(this.buffer.length * 1.5)));
      grown.set(this.buffer.subarray(0, this.used));
      this.buffer = grown;
    } else if (delta.length < this.used) {
      // Dropped words read as zero if the image grows over them again, as on every backend.
      this.buffer.fill(0, delta.length, this.used);
    }
    this.used = delta.length;
    for (const w of delta.writes) this.buffer.set(w.words, w.offset);
  }
}
