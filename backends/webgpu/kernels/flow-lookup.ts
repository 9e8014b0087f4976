/**
 * The webgpu backend's form of kernel `flow-lookup`: the WGSL program FLOW_LOOKUP_WGSL over the
 * flow-table image in a storage buffer (loaded like any registered structure kind). The ten
 * key-word columns are packed into one binding (`packInputs`: column w at words [w * count, ...)),
 * then the `entry` output and the image: 3 storage bindings, within WebGPU's default limit of 8.
 */
import type { StructureHandle } from '../../../core/backend.js';
import { KEY_WORDS } from '../../../core/flows/flow-key.js';
import { FLOW_KEY_COLUMNS, FLOW_LOOKUP, FLOW_LOOKUP_COLUMNS as C, flowLookupContract } from '../../../core/kernels/flow-lookup/index.js';
import { E_KEY, ENTRY_USED, FLOW_MISS, H_BUCKETS, H_ENTRY_WORDS, H_SEED, H_SLOTS, HEADER_WORDS } from '../../../core/structures/flow-table/flow-table-image.js';
import { registerWgslKernel, packedColumnBindings, packedInput, firstExtraBinding, itemIndex, PRELUDE, programColumns, WORKGROUP_SIZE, type ProgramHost, type ProgramRun, type WgslProgram } from '../wgsl-program.js';

const u = (n: number): string => `${n >>> 0}u`;

/**
 * Port of `lookupOne` (core/structures/flow-table/flow-table-image.ts) in u32: murmur3_32 of
 * the key words with the image's seed (WGSL's u32 `*` and `+` wrap as Math.imul and `| 0` do),
 * the same two candidate buckets, and a word-by-word key compare of every used entry in them.
 * Layout constants are interpolated from the image module, so a layout change reaches the
 * shader. The scan stops at the buffer's end, so an image shorter than its header claims reads
 * no further (loadStructure checks the geometry anyway).
 */
export const FLOW_LOOKUP_WGSL: WgslProgram = {
  key: `${FLOW_LOOKUP}/wgsl/2`,
  ...programColumns(flowLookupContract),
  extra: ['image'],
  packInputs: true,
  source: /* wgsl */ `${PRELUDE}
${packedColumnBindings(flowLookupContract)}
@group(0) @binding(${firstExtraBinding(flowLookupContract, true)}) var<storage, read> image: array<u32>;

const KEY_WORDS: u32 = ${u(KEY_WORDS)};
const HEADER_WORDS: u32 = ${u(HEADER_WORDS)};
const E_KEY: u32 = ${u(E_KEY)};
const ENTRY_USED: u32 = ${u(ENTRY_USED)};
const FLOW_MISS: i32 = ${FLOW_MISS};

var<private> key: array<u32, ${KEY_WORDS}>;

fn rotl(x: u32, r: u32) -> u32 {
  return (x << r) | (x >> (32u - r));
}

fn fmix32(h0: u32) -> u32 {
  var h = h0;
  h = h ^ (h >> 16u);
  h = h * 0x85ebca6bu;
  h = h ^ (h >> 13u);
  h = h * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  return h;
}

fn keyHash(seed: u32) -> u32 {
  var h = seed;
  for (var w = 0u; w < KEY_WORDS; w = w + 1u) {
    let x = rotl(key[w] * 0xcc9e2d51u, 15u) * 0x1b873593u;
    h = rotl(h ^ x, 13u) * 5u + 0xe6546b64u;
  }
  return fmix32(h ^ (KEY_WORDS * 4u));
}

fn lookup() -> i32 {
  let buckets = image[${H_BUCKETS}u];
  let slots = image[${H_SLOTS}u];
  let ew = image[${H_ENTRY_WORDS}u];
  let end = arrayLength(&image);
  let hash = keyHash(image[${H_SEED}u]);
  let mask = buckets - 1u;
  let b1 = hash & mask;
  var b2 = fmix32(hash ^ 0x9e3779b9u) & mask;
  if (b2 == b1) { b2 = (b1 ^ 1u) & mask; }
  for (var side = 0u; side < 2u; side = side + 1u) {
    let first = select(b2, b1, side == 0u) * slots;
    for (var e = first; e < first + slots; e = e + 1u) {
      let p = HEADER_WORDS + e * ew;
      if (p + E_KEY + KEY_WORDS > end) { return FLOW_MISS; }
      if ((image[p] & ENTRY_USED) == 0u) { continue; }
      var w = 0u;
      loop {
        if (w >= KEY_WORDS) { break; }
        if (image[p + E_KEY + w] != key[w]) { break; }
        w = w + 1u;
      }
      if (w == KEY_WORDS) { return i32(e); }
    }
    if (b2 == b1) { break; }
  }
  return FLOW_MISS;
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${itemIndex()}
  ${FLOW_KEY_COLUMNS.map((name, w) => `key[${w}] = ${packedInput(w)}; // ${name}`).join('\n  ')}
  ${C.entry}[i] = lookup();
}
`,
};

function program(host: ProgramHost, structures: readonly StructureHandle[]): ProgramRun {
  return { program: FLOW_LOOKUP_WGSL, extras: [host.structureBuffer(structures[0])] };
}

registerWgslKernel(flowLookupContract, import.meta.url, program);
