/**
 * The webgpu backend's form of kernel `ip-lookup`: the WGSL program IP_LOOKUP_WGSL over the
 * multi-FIB image in a storage buffer. Column bindings and names come from the contract.
 */
import type { StructureHandle } from '../../../core/backend.js';
import { IP_LOOKUP, IP_LOOKUP_COLUMNS as C, ipLookupContract } from '../../../core/kernels/ip-lookup/index.js';
import { registerWgslKernel, columnBindings, firstExtraBinding, itemIndex, PRELUDE, programColumns, WORKGROUP_SIZE, type ProgramHost, type ProgramRun, type WgslProgram } from '../wgsl-program.js';

/**
 * Port of `lookupImage` (core/structures/multi-fib/image-format.ts, layout 2), word for word in
 * u32: the node walk (tags 2 NODE and 3 NARROW_NODE) takes the chunk's run count from its byte
 * of the packed count words and countOneBits of the masked bitmap; a narrow node's run entry is
 * a 16-bit half (0xffff = NO_ROUTE). The shift wraps the way JS's `>>>` takes its count mod 32. The walk is bounded at 4 nodes (a valid IPv4 image has at most 2)
 * and a record scan at the buffer's end, so a malformed image cannot hang the device.
 * A negative FIB never matches a record entry (the reference compares it with unsigned
 * fib numbers and stops at the first), so it takes the record's default.
 */
export const IP_LOOKUP_WGSL: WgslProgram = {
  key: `${IP_LOOKUP}/wgsl/2`,
  ...programColumns(ipLookupContract),
  extra: ['image'],
  source: /* wgsl */ `${PRELUDE}
${columnBindings(ipLookupContract)}
@group(0) @binding(${firstExtraBinding(ipLookupContract)}) var<storage, read> image: array<u32>;

const VALUE_MASK: u32 = 0x3fffffffu;
const NO_ROUTE: u32 = 0x3fffffffu;
const NARROW_NO_ROUTE: u32 = 0xffffu;
const NODE_HEADER_WORDS: u32 = 10u;
const NODE_COUNT_WORD: u32 = 8u;

fn lookup(fib: i32, addr: u32) -> i32 {
  var e = image[image[4u] + (addr >> 16u)];
  var shift = 8u;
  var depth = 0u;
  loop {
    if ((e >> 30u) < 2u || depth >= 4u) { break; }
    let node = e & VALUE_MASK;
    let slot = (addr >> (shift & 31u)) & 255u;
    let w = slot >> 5u;
    let bits = image[node + w] & (0xffffffffu >> (31u - (slot & 31u)));
    let before = (image[node + NODE_COUNT_WORD + (w >> 2u)] >> ((w & 3u) << 3u)) & 255u;
    let k = before + countOneBits(bits) - 1u;
    if ((e >> 30u) == 2u) {
      e = image[node + NODE_HEADER_WORDS + k];
    } else {
      let h = (image[node + NODE_HEADER_WORDS + (k >> 1u)] >> ((k & 1u) << 4u)) & 0xffffu;
      e = select(h, NO_ROUTE, h == NARROW_NO_ROUTE);
    }
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
  ${C.nextHop}[i] = lookup(${C.vrf}[i], ${C.dst}[i]);
}
`,
};


function program(host: ProgramHost, structures: readonly StructureHandle[]): ProgramRun {
  return { program: IP_LOOKUP_WGSL, extras: [host.structureBuffer(structures[0])] };
}

registerWgslKernel(ipLookupContract, import.meta.url, program);
