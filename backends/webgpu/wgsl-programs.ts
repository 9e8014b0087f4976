/**
 * WGSL programs of the webgpu backend. Binding convention shared with `WebGpuBackend.runProgram`:
 * binding 0 is the uniform `Params`, then one storage buffer per input column, one per output
 * column, then the structures / constant tables, in the order the program lists them.
 * Items are indexed over a 2-D dispatch (`rowStride` threads per row) so batches above
 * 65,535 workgroups still fit the dispatch limit.
 */

export interface WgslProgram {
  /** Pipeline cache key: one compiled pipeline per distinct key. */
  key: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Extra read-only storage bindings after the columns (structures, tables). */
  extra: readonly string[];
  source: string;
}

export const WORKGROUP_SIZE = 256;

const PRELUDE = /* wgsl */ `
struct Params { count: u32, rowStride: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

function itemIndex(): string {
  return /* wgsl */ `let i = gid.y * params.rowStride + gid.x;
  if (i >= params.count) { return; }`;
}

/**
 * Port of `lookupImage` (core/structures/multi-fib/image-format.ts), word for word in u32:
 * the node walk uses countOneBits for the run index, and the shift wraps the way JS's `>>>`
 * takes its count mod 32. The walk is bounded at 4 nodes (a valid IPv4 image has at most 2)
 * and a record scan at the buffer's end, so a malformed image cannot hang the device.
 * A negative FIB never matches a record entry (the reference compares it with unsigned
 * fib numbers and stops at the first), so it takes the record's default.
 */
export const IP_LOOKUP_WGSL: WgslProgram = {
  key: 'ip-lookup/wgsl/1',
  inputs: ['dst', 'vrf'],
  outputs: ['nextHop'],
  extra: ['image'],
  source: /* wgsl */ `${PRELUDE}
@group(0) @binding(1) var<storage, read> dst: array<u32>;
@group(0) @binding(2) var<storage, read> vrf: array<i32>;
@group(0) @binding(3) var<storage, read_write> nextHop: array<i32>;
@group(0) @binding(4) var<storage, read> image: array<u32>;

const VALUE_MASK: u32 = 0x3fffffffu;
const NO_ROUTE: u32 = 0x3fffffffu;

fn lookup(fib: i32, addr: u32) -> i32 {
  var e = image[image[4u] + (addr >> 16u)];
  var shift = 8u;
  var depth = 0u;
  loop {
    if ((e >> 30u) != 2u || depth >= 4u) { break; }
    let node = e & VALUE_MASK;
    let slot = (addr >> (shift & 31u)) & 255u;
    let w = slot >> 5u;
    let bits = image[node + 2u * w] & (0xffffffffu >> (31u - (slot & 31u)));
    e = image[node + 16u + image[node + 2u * w + 1u] + countOneBits(bits) - 1u];
    shift = shift - 8u;
    depth = depth + 1u;
  }
  if ((e >> 30u) == 1u) {
    let r = e & VALUE_MASK;
    let n = image[r + 1u];
    e = image[r];
    if (fib >= 0) {
      let want = u32(fib);
      let end = arrayLength(&image);
      for (var k = 0u; k < n; k = k + 1u) {
        let at = r + 2u + 2u * k;
        if (at + 1u >= end) { break; }
        let f = image[at];
        if (f == want) { e = image[at + 1u]; break; }
        if (f > want) { break; }
      }
    }
  }
  if (e == NO_ROUTE) { return -1; }
  return bitcast<i32>(e);
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${itemIndex()}
  nextHop[i] = lookup(vrf[i], dst[i]);
}
`,
};

/** RSS Toeplitz over per-byte tables (the same tables as the CPU form, `toeplitzTable`). */
export const FLOW_HASH_WGSL: WgslProgram = {
  key: 'flow-hash/wgsl/1',
  inputs: ['src', 'dst', 'ports', 'proto'],
  outputs: ['flow'],
  extra: ['table'],
  source: /* wgsl */ `${PRELUDE}
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> dst: array<u32>;
@group(0) @binding(3) var<storage, read> ports: array<u32>;
@group(0) @binding(4) var<storage, read> proto: array<i32>;
@group(0) @binding(5) var<storage, read_write> flow: array<u32>;
@group(0) @binding(6) var<storage, read> table: array<u32>;

fn word(pos: u32, x: u32) -> u32 {
  return table[pos * 1024u + ((x >> 24u) & 255u)] ^ table[pos * 1024u + 256u + ((x >> 16u) & 255u)]
       ^ table[pos * 1024u + 512u + ((x >> 8u) & 255u)] ^ table[pos * 1024u + 768u + (x & 255u)];
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${itemIndex()}
  var h = word(0u, src[i]) ^ word(1u, dst[i]);
  let p = proto[i];
  if (p == 6 || p == 17) { h = h ^ word(2u, ports[i]); }
  flow[i] = h;
}
`,
};
