/**
 * Part of the gpujs form of kernel `flow-hash` (./flow-hash.ts): the Toeplitz hash in gpu.js's
 * JavaScript subset, exact in float32.
 *
 * f32 holds integers exactly only below 2^24 and gpu.js's f32 modes have no exact 32-bit XOR,
 * so every value is an 8-bit limb: the input's 12 bytes, the per-byte Toeplitz tables split into
 * 4 bytes per entry, and XOR itself a 256 x 256 table lookup (XOR8[a * 256 + b] = a ^ b; every
 * index below 2^16, every value below 2^8). A thread computes one 16-bit half of one item's
 * hash (thread 2i: bits 31..16, 2i+1: bits 15..0), which f32 carries exactly; the host joins them.
 */

/** Runs as a gpu.js kernel; `this.thread.x` is 2 * item + half. Keep to the gpu.js subset. */
export function toeplitzHalfKernel(
  this: { thread: { x: number } },
  bytes: Float32Array,
  withPorts: Float32Array,
  table: Float32Array,
  xor8: Float32Array,
  n: number,
): number {
  const t = this.thread.x;
  const i = Math.floor(t / 2);
  // Result bytes k0 (high) and k0 + 1 of the 4-byte hash, MSB first.
  const k0 = (t % 2) * 2;
  let a = 0;
  let b = 0;
  for (let pos = 0; pos < 12; pos++) {
    if (pos < 8 || withPorts[i] > 0) {
      const v = bytes[pos * n + i];
      const e = (pos * 256 + v) * 4;
      a = xor8[a * 256 + table[e + k0]];
      b = xor8[b * 256 + table[e + k0 + 1]];
    }
  }
  return a * 256 + b;
}

/** XOR of two bytes, as a table: XOR8[a * 256 + b] = a ^ b. */
export const XOR8: Float32Array = Float32Array.from({ length: 65536 }, (_v, i) => (i >> 8) ^ (i & 255));

/** The per-byte Toeplitz tables (toeplitzTable's layout, entry [pos * 256 + v]) as 4 bytes each, MSB first. */
export function tableBytes(table: Int32Array): Float32Array {
  const out = new Float32Array(table.length * 4);
  for (let e = 0; e < table.length; e++) {
    const w = table[e] >>> 0;
    out[e * 4] = w >>> 24;
    out[e * 4 + 1] = (w >>> 16) & 255;
    out[e * 4 + 2] = (w >>> 8) & 255;
    out[e * 4 + 3] = w & 255;
  }
  return out;
}
