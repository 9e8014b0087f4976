/**
 * Part of the gpujs form of kernel `flow-lookup` (./flow-lookup.ts): `lookupOne`
 * (core/structures/flow-table/flow-table-image.ts) in gpu.js's JavaScript subset, exact in
 * float32.
 *
 * f32 holds integers exactly only below 2^24 and has no exact 32-bit multiply or XOR, so every
 * 32-bit value of murmur3_32 is four 8-bit limbs, little end first (v0 + 256 v1 + 65536 v2 +
 * 2^24 v3):
 * - a multiply by a constant mod 2^32 is the 10 limb products of the low triangle, summed by
 *   column with the carry (each column under 4 * 255 * 255 + 2^11 < 2^19);
 * - a rotation or shift by 8q + s bits moves limbs by q and splits each limb at bit 8 - s with
 *   `% 2^k` and `Math.floor(/ 2^k)`;
 * - XOR reads the 256 x 256 table XOR8 of flow-hash-limbs.ts.
 * The bucket is the hash's low 24 bits mod the bucket count (a power of two below 2^20, so the
 * low 24 bits decide it). Key words are compared with the image's 16-bit halves (the backend's
 * split image, as the ip-lookup walk reads it). The answer, an entry index, stays below 2^20
 * for every image the backend holds (< 2^24 words, >= 16 words per entry): exact in f32.
 */

/**
 * Runs as a gpu.js kernel; `this.thread.x` is the item. `keys` holds the batch's key bytes,
 * byte b of word w of item i at keys[(4 * w + b) * n + i] (b = 0 the low byte); seed0..3 are
 * the image's seed limbs, buckets / slots / ew its geometry. Returns the entry index or -1.
 * Keep to the gpu.js subset.
 */
export function flowLookupKernel(
  this: { thread: { x: number } },
  imgHi: Float32Array,
  imgLo: Float32Array,
  keys: Float32Array,
  xor8: Float32Array,
  n: number,
  seed0: number,
  seed1: number,
  seed2: number,
  seed3: number,
  buckets: number,
  slots: number,
  ew: number,
): number {
  const i = this.thread.x;
  let h0 = seed0;
  let h1 = seed1;
  let h2 = seed2;
  let h3 = seed3;
  let s = 0;
  let y0 = 0;
  let y1 = 0;
  let y2 = 0;
  let y3 = 0;
  let z0 = 0;
  let z1 = 0;
  let z2 = 0;
  let z3 = 0;
  for (let w = 0; w < 10; w++) {
    const x0 = keys[(4 * w) * n + i];
    const x1 = keys[(4 * w + 1) * n + i];
    const x2 = keys[(4 * w + 2) * n + i];
    const x3 = keys[(4 * w + 3) * n + i];
    // y = x * 0xcc9e2d51 (limbs 0x51, 0x2d, 0x9e, 0xcc)
    s = x0 * 81;
    y0 = s % 256;
    s = Math.floor(s / 256) + x0 * 45 + x1 * 81;
    y1 = s % 256;
    s = Math.floor(s / 256) + x0 * 158 + x1 * 45 + x2 * 81;
    y2 = s % 256;
    s = Math.floor(s / 256) + x0 * 204 + x1 * 158 + x2 * 45 + x3 * 81;
    y3 = s % 256;
    // z = rotl(y, 15): limbs up one (8 bits), then 7 more bits
    z0 = (y3 % 2) * 128 + Math.floor(y2 / 2);
    z1 = (y0 % 2) * 128 + Math.floor(y3 / 2);
    z2 = (y1 % 2) * 128 + Math.floor(y0 / 2);
    z3 = (y2 % 2) * 128 + Math.floor(y1 / 2);
    // y = z * 0x1b873593 (limbs 0x93, 0x35, 0x87, 0x1b)
    s = z0 * 147;
    y0 = s % 256;
    s = Math.floor(s / 256) + z0 * 53 + z1 * 147;
    y1 = s % 256;
    s = Math.floor(s / 256) + z0 * 135 + z1 * 53 + z2 * 147;
    y2 = s % 256;
    s = Math.floor(s / 256) + z0 * 27 + z1 * 135 + z2 * 53 + z3 * 147;
    y3 = s % 256;
    // h ^= y
    h0 = xor8[h0 * 256 + y0];
    h1 = xor8[h1 * 256 + y1];
    h2 = xor8[h2 * 256 + y2];
    h3 = xor8[h3 * 256 + y3];
    // z = rotl(h, 13): limbs up one, then 5 more bits
    z0 = (h3 % 8) * 32 + Math.floor(h2 / 8);
    z1 = (h0 % 8) * 32 + Math.floor(h3 / 8);
    z2 = (h1 % 8) * 32 + Math.floor(h0 / 8);
    z3 = (h2 % 8) * 32 + Math.floor(h1 / 8);
    // h = z * 5 + 0xe6546b64 (limbs 0x64, 0x6b, 0x54, 0xe6)
    s = z0 * 5 + 100;
    h0 = s % 256;
    s = Math.floor(s / 256) + z1 * 5 + 107;
    h1 = s % 256;
    s = Math.floor(s / 256) + z2 * 5 + 84;
    h2 = s % 256;
    s = Math.floor(s / 256) + z3 * 5 + 230;
    h3 = s % 256;
  }
  // h ^= KEY_WORDS * 4 (40 bytes)
  h0 = xor8[h0 * 256 + 40];

  // Two fmix32 passes: pass 0 gives the hash (h) and bucket b1, pass 1 fmix32(hash ^ 0x9e3779b9)
  // and bucket b2 (candidateBuckets).
  let b1 = 0;
  let b2 = 0;
  for (let pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      // h ^= 0x9e3779b9 (limbs 0xb9, 0x79, 0x37, 0x9e); h still holds pass 0's hash
      h0 = xor8[h0 * 256 + 185];
      h1 = xor8[h1 * 256 + 121];
      h2 = xor8[h2 * 256 + 55];
      h3 = xor8[h3 * 256 + 158];
    }
    let f0 = h0;
    let f1 = h1;
    let f2 = h2;
    let f3 = h3;
    // f ^= f >>> 16
    f0 = xor8[f0 * 256 + f2];
    f1 = xor8[f1 * 256 + f3];
    // f = f * 0x85ebca6b (limbs 0x6b, 0xca, 0xeb, 0x85)
    s = f0 * 107;
    y0 = s % 256;
    s = Math.floor(s / 256) + f0 * 202 + f1 * 107;
    y1 = s % 256;
    s = Math.floor(s / 256) + f0 * 235 + f1 * 202 + f2 * 107;
    y2 = s % 256;
    s = Math.floor(s / 256) + f0 * 133 + f1 * 235 + f2 * 202 + f3 * 107;
    y3 = s % 256;
    // f = y ^ (y >>> 13): limb k of y >>> 13 is bits 5..7 of limb k + 1 and bits 0..4 of limb k + 2
    f0 = xor8[y0 * 256 + Math.floor(y1 / 32) + (y2 % 32) * 8];
    f1 = xor8[y1 * 256 + Math.floor(y2 / 32) + (y3 % 32) * 8];
    f2 = xor8[y2 * 256 + Math.floor(y3 / 32)];
    f3 = y3;
    // y = f * 0xc2b2ae35 (limbs 0x35, 0xae, 0xb2, 0xc2)
    s = f0 * 53;
    y0 = s % 256;
    s = Math.floor(s / 256) + f0 * 174 + f1 * 53;
    y1 = s % 256;
    s = Math.floor(s / 256) + f0 * 178 + f1 * 174 + f2 * 53;
    y2 = s % 256;
    s = Math.floor(s / 256) + f0 * 194 + f1 * 178 + f2 * 174 + f3 * 53;
    y3 = s % 256;
    // f = y ^ (y >>> 16)
    f0 = xor8[y0 * 256 + y2];
    f1 = xor8[y1 * 256 + y3];
    f2 = y2;
    f3 = y3;
    const b = (f0 + f1 * 256 + f2 * 65536) % buckets;
    if (pass == 0) {
      b1 = b;
      h0 = f0;
      h1 = f1;
      h2 = f2;
      h3 = f3;
    } else {
      b2 = b;
    }
  }
  if (b2 == b1) {
    // (b1 ^ 1) & (buckets - 1)
    if (b1 % 2 == 0) {
      b2 = (b1 + 1) % buckets;
    } else {
      b2 = b1 - 1;
    }
  }

  // Every used entry of bucket b1, then of b2, compared word by word as 16-bit halves.
  let found = -1;
  for (let pass = 0; pass < 2; pass++) {
    let bucket = b1;
    if (pass == 1) {
      bucket = b2;
    }
    for (let slot = 0; slot < slots; slot++) {
      if (found < 0) {
        const e = bucket * slots + slot;
        const p = 8 + e * ew;
        if (imgHi[p] >= 32768) {
          let same = 1;
          for (let w = 0; w < 10; w++) {
            const kh = keys[(4 * w + 3) * n + i] * 256 + keys[(4 * w + 2) * n + i];
            const kl = keys[(4 * w + 1) * n + i] * 256 + keys[(4 * w) * n + i];
            if (imgHi[p + 1 + w] != kh || imgLo[p + 1 + w] != kl) {
              same = 0;
            }
          }
          if (same > 0) {
            found = e;
          }
        }
      }
    }
  }
  return found;
}
