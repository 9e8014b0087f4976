/**
 * Part of the gpujs form of kernel `ip-lookup` (./ip-lookup.ts).
 *
 * The ip-lookup walk in gpu.js's JavaScript subset, exact in float32.
 *
 * gpu.js computes in f32 (webasm, webgpu; its cpu mode in f64), which holds integers exactly
 * only below 2^24: a 32-bit address or image word does not survive it. So every value is kept
 * under 2^24: the image is split into 16-bit halves (imgHi, imgLo), the address too; bit tests
 * become division by powers of two; popcount of the masked bitmap reads a byte table. Word
 * indices must stay below 2^24, which caps the image at 16 M words (the backend refuses more).
 *
 * Image layout 2. The device walks the trie and returns the index of the image word that holds
 * the answer (an L0 entry, a wide node's run entry, or a record's default / per-FIB value); that
 * index is exact in f32, the answer itself (up to 2^30) is not, so the host reads that one word.
 * A narrow node's run entry is a 16-bit half, exact in f32 and already one of the split halves:
 * the device returns it as -1 - half (so -1 .. -65536, never a position), and the host maps
 * 0xffff to NO_ROUTE. A narrow entry is always a leaf, so the walk ends there.
 * Like the WGSL form, the walk is bounded (2 node levels, valid for every IPv4 image).
 */

/** Runs as a gpu.js kernel; `this.thread.x` is the item. Keep to the gpu.js subset. */
export function lookupPositionKernel(
  this: { thread: { x: number } },
  imgHi: Float32Array,
  imgLo: Float32Array,
  dstHi: Float32Array,
  dstLo: Float32Array,
  vrf: Float32Array,
  pc8: Float32Array,
  pow2: Float32Array,
  recMax: number,
): number {
  const i = this.thread.x;
  const ah = dstHi[i];
  const al = dstLo[i];
  const fib = vrf[i];
  const l0 = imgHi[4] * 65536 + imgLo[4];
  let p = l0 + ah;
  let eh = imgHi[p];
  // A narrow node's run entry, once read (-1 while the walk has not met one).
  let half = -1;
  for (let level = 0; level < 2; level++) {
    if (eh >= 32768) {
      const node = (eh % 16384) * 65536 + imgLo[p];
      let slot = al % 256;
      if (level == 0) {
        slot = Math.floor(al / 256);
      }
      const w = Math.floor(slot / 32);
      const b = slot % 32;
      const bh = imgHi[node + w];
      const bl = imgLo[node + w];
      let cnt = 0;
      if (b >= 15) {
        const hm = bh % pow2[b - 15];
        cnt = pc8[Math.floor(bl / 256)] + pc8[bl % 256] + pc8[Math.floor(hm / 256)] + pc8[hm % 256];
      } else {
        const lm = bl % pow2[b + 1];
        cnt = pc8[Math.floor(lm / 256)] + pc8[lm % 256];
      }
      // Chunk w's run count: byte (w % 4) of count word 8 + floor(w / 4); bytes 0-1 are the low half.
      const cw = node + 8 + Math.floor(w / 4);
      const byteAt = w % 4;
      let ch = imgLo[cw];
      if (byteAt >= 2) {
        ch = imgHi[cw];
      }
      let before = ch % 256;
      if (byteAt % 2 == 1) {
        before = Math.floor(ch / 256);
      }
      const k = before + cnt - 1;
      if (eh >= 49152) {
        // Half k % 2 of word 10 + floor(k / 2): half 0 is the low 16 bits.
        p = node + 10 + Math.floor(k / 2);
        half = imgLo[p];
        if (k % 2 == 1) {
          half = imgHi[p];
        }
        eh = 0;
      } else {
        p = node + 10 + k;
        eh = imgHi[p];
      }
    }
  }
  if (half >= 0) {
    return -1 - half;
  }
  if (eh >= 16384 && eh < 32768) {
    const r = (eh - 16384) * 65536 + imgLo[p];
    const n = imgHi[r + 1] * 65536 + imgLo[r + 1];
    p = r;
    if (fib >= 0) {
      for (let k = 0; k < recMax; k++) {
        if (k >= n) {
          break;
        }
        const at = r + 2 + 2 * k;
        const f = imgHi[at] * 65536 + imgLo[at];
        if (f == fib) {
          p = at + 1;
          break;
        }
        if (f > fib) {
          break;
        }
      }
    }
  }
  return p;
}

export const POPCOUNT8: Float32Array = Float32Array.from({ length: 256 }, (_v, i) => {
  let c = 0;
  for (let x = i; x !== 0; x >>= 1) c += x & 1;
  return c;
});

export const POW2_0_16: Float32Array = Float32Array.from({ length: 17 }, (_v, i) => 2 ** i);
