/**
 * Batch arenas carved from large uninitialized slabs. One allocation per batch (even an
 * uninitialized Buffer) costs more than copying the packets: measured here, carving 212 KB
 * arenas from 4 MiB slabs was 2.5x faster than allocating each (6 vs 2.5 M packets/s of copy).
 * A slab lives until every batch carved from it is garbage, so a long-held batch can keep up
 * to one slab alive; arenas larger than a quarter slab get their own allocation.
 */

export const SLAB_BYTES = 4 << 20;

export class ArenaAllocator {
  private slab: ArrayBuffer | null = null;
  private used = 0;

  constructor(private readonly slabBytes: number = SLAB_BYTES) {}

  /** `size` bytes of uninitialized memory (the caller writes every byte it hands on). */
  take(size: number): Uint8Array {
    if (size > this.slabBytes >> 2) {
      const own = Buffer.allocUnsafeSlow(size);
      return new Uint8Array(own.buffer, own.byteOffset, size);
    }
    if (this.slab === null || this.used + size > this.slabBytes) {
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes).buffer as ArrayBuffer;
      this.used = 0;
    }
    const view = new Uint8Array(this.slab, this.used, size);
    // Keep each arena 8-byte aligned so typed views over it stay possible.
    this.used += (size + 7) & ~7;
    return view;
  }
}
