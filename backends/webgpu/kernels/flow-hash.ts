/**
 * The webgpu backend's form of kernel `flow-hash`: the WGSL program FLOW_HASH_WGSL over the
 * per-byte Toeplitz tables of the CPU form (`toeplitzTable`), uploaded once per device.
 * Column bindings and names come from the contract.
 */
import type { StructureHandle } from '../../../core/backend.js';
import { FLOW_HASH, FLOW_HASH_COLUMNS as C, flowHashContract, toeplitzTable } from '../../../core/kernels/flow-hash/index.js';
import { registerWgslKernel, columnBindings, firstExtraBinding, itemIndex, PRELUDE, programColumns, WORKGROUP_SIZE, type ProgramHost, type ProgramRun, type WgslProgram } from '../wgsl-program.js';

const flowTable = toeplitzTable();

/** RSS Toeplitz over per-byte tables (the same tables as the CPU form, `toeplitzTable`). */
export const FLOW_HASH_WGSL: WgslProgram = {
  key: `${FLOW_HASH}/wgsl/1`,
  ...programColumns(flowHashContract),
  extra: ['table'],
  source: /* wgsl */ `${PRELUDE}
${columnBindings(flowHashContract)}
@group(0) @binding(${firstExtraBinding(flowHashContract)}) var<storage, read> table: array<u32>;

fn word(pos: u32, x: u32) -> u32 {
  return table[pos * 1024u + ((x >> 24u) & 255u)] ^ table[pos * 1024u + 256u + ((x >> 16u) & 255u)]
       ^ table[pos * 1024u + 512u + ((x >> 8u) & 255u)] ^ table[pos * 1024u + 768u + (x & 255u)];
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${itemIndex()}
  var h = word(0u, ${C.src}[i]) ^ word(1u, ${C.dst}[i]);
  let p = ${C.proto}[i];
  if (p == 6 || p == 17) { h = h ^ word(2u, ${C.ports}[i]); }
  ${C.flow}[i] = h;
}
`,
};

function program(host: ProgramHost, _structures: readonly StructureHandle[]): ProgramRun {
  return { program: FLOW_HASH_WGSL, extras: [host.constantBuffer('toeplitz-default', flowTable)] };
}

registerWgslKernel(flowHashContract, import.meta.url, program);
