/**
 * Kernel `flow-hash`: the RSS Toeplitz hash (Microsoft's receive-side-scaling specification)
 * with its default 40-byte key, so a flow lands on the same queue / worker as a NIC would put it.
 *
 * Input bytes, in the specification's order: source address, destination address, and for TCP
 * (6) and UDP (17) also source port and destination port (`ports` = sport << 16 | dport); other
 * protocols hash the two addresses only ("IPv4 only" in the spec's verification table).
 * Output `flow` is the 32-bit hash as its int32 bit pattern.
 *
 * This file is the CPU reference (`toeplitzHash`, bit-serial from the specification) and the
 * CPU form (`flowHashReference`, per-byte tables) that the cpu backend and FlowHash without
 * BACKEND run; every other form is listed in README.md.
 */
import type { FlowHashIo } from './contract.js';

/** Microsoft's default RSS key (also DPDK's `rss_key_default` and most NICs' reset value). */
export const RSS_DEFAULT_KEY: Uint8Array = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

/** Bytes hashed at most (two IPv4 addresses and two ports). */
export const FLOW_HASH_INPUT_BYTES = 12;

/** The bit-serial definition, straight from the specification: the oracle for the table form. */
export function toeplitzHash(key: Uint8Array, input: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < input.length * 8; i++) {
    if ((input[i >> 3] >> (7 - (i & 7))) & 1) result ^= keyWindow(key, i);
  }
  return result >>> 0;
}

/** The 32 key bits starting at bit `bit` (MSB first). */
function keyWindow(key: Uint8Array, bit: number): number {
  let w = 0;
  for (let j = 0; j < 32; j++) {
    const b = bit + j;
    w = (w << 1) | ((key[b >> 3] >> (7 - (b & 7))) & 1);
  }
  return w >>> 0;
}

/**
 * Per-byte tables: entry [pos * 256 + v] is the hash contribution of byte value v at input byte
 * `pos`, so a hash is 12 table reads XORed (the usual software RSS; the WGSL form reads the same
 * table from a storage buffer). Stored as Int32 bit patterns to stay on V8's integer path.
 */
export function toeplitzTable(key: Uint8Array = RSS_DEFAULT_KEY): Int32Array {
  if (key.length < FLOW_HASH_INPUT_BYTES + 4) throw new Error(`toeplitzTable: key of ${key.length} bytes is shorter than ${FLOW_HASH_INPUT_BYTES + 4}`);
  const t = new Int32Array(FLOW_HASH_INPUT_BYTES * 256);
  for (let pos = 0; pos < FLOW_HASH_INPUT_BYTES; pos++) {
    const windows: number[] = [];
    for (let bit = 0; bit < 8; bit++) windows.push(keyWindow(key, pos * 8 + bit));
    for (let v = 0; v < 256; v++) {
      let h = 0;
      for (let bit = 0; bit < 8; bit++) if ((v >> (7 - bit)) & 1) h ^= windows[bit];
      t[pos * 256 + v] = h;
    }
  }
  return t;
}

const defaultTable = toeplitzTable();

export function isPortProtocol(proto: number): boolean {
  return proto === 6 || proto === 17;
}

/** The reference form over columns, using the per-byte tables. */
export function flowHashReference(io: FlowHashIo, table: Int32Array = defaultTable): void {
  const { src, dst, ports, proto } = io.inputs;
  const out = io.outputs.flow;
  for (let i = 0; i < io.count; i++) {
    const s = src[i];
    const d = dst[i];
    let h =
      table[(s >>> 24) & 255] ^ table[256 + ((s >>> 16) & 255)] ^ table[512 + ((s >>> 8) & 255)] ^ table[768 + (s & 255)] ^
      table[1024 + ((d >>> 24) & 255)] ^ table[1280 + ((d >>> 16) & 255)] ^ table[1536 + ((d >>> 8) & 255)] ^ table[1792 + (d & 255)];
    if (isPortProtocol(proto[i])) {
      const p = ports[i];
      h ^= table[2048 + ((p >>> 24) & 255)] ^ table[2304 + ((p >>> 16) & 255)] ^ table[2560 + ((p >>> 8) & 255)] ^ table[2816 + (p & 255)];
    }
    out[i] = h;
  }
}
