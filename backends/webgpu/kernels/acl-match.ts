/**
 * The webgpu backend's form of kernel `acl-match`: the WGSL program ACL_MATCH_WGSL, one thread
 * a packet scanning the ACL image (a storage buffer) for its first matching rule, as the CPU
 * form does. Column bindings and names come from the contract.
 */
import type { StructureHandle } from '../../../core/backend.js';
import { ACL_MATCH, ACL_MATCH_COLUMNS as C, aclMatchContract } from '../../../core/kernels/acl-match/index.js';
import { ACL_HEADER_WORDS, ACL_RULE_WORDS, H_RULES, R_DPORTS, R_DST, R_DST_MASK, R_PROTO, R_SPORTS, R_SRC, R_SRC_MASK } from '../../../core/structures/acl/acl-image.js';
import { registerWgslKernel, columnBindings, firstExtraBinding, itemIndex, PRELUDE, programColumns, WORKGROUP_SIZE, type ProgramHost, type ProgramRun, type WgslProgram } from '../wgsl-program.js';

/**
 * Port of `aclMatchCpu` in u32: addresses and masks compare as bit patterns, port ranges as the
 * 16-bit halves of their words. The scan stops at the header's rule count or the buffer's end,
 * whichever comes first, so a malformed image cannot read past it.
 */
export const ACL_MATCH_WGSL: WgslProgram = {
  key: `${ACL_MATCH}/wgsl/1`,
  ...programColumns(aclMatchContract),
  extra: ['image'],
  source: /* wgsl */ `${PRELUDE}
${columnBindings(aclMatchContract)}
@group(0) @binding(${firstExtraBinding(aclMatchContract)}) var<storage, read> image: array<u32>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${itemIndex()}
  let s = ${C.src}[i];
  let d = ${C.dst}[i];
  let sport = (${C.ports}[i] >> 16u) & 0xffffu;
  let dport = ${C.ports}[i] & 0xffffu;
  let p = bitcast<u32>(${C.proto}[i]);
  let end = min(${ACL_HEADER_WORDS}u + image[${H_RULES}u] * ${ACL_RULE_WORDS}u, arrayLength(&image));
  var found = -1;
  var r = 0;
  for (var at = ${ACL_HEADER_WORDS}u; at + ${ACL_RULE_WORDS}u <= end; at = at + ${ACL_RULE_WORDS}u) {
    let sp = image[at + ${R_SPORTS}u];
    let dp = image[at + ${R_DPORTS}u];
    let pr = image[at + ${R_PROTO}u];
    if ((s & image[at + ${R_SRC_MASK}u]) == image[at + ${R_SRC}u]
        && (d & image[at + ${R_DST_MASK}u]) == image[at + ${R_DST}u]
        && sport >= (sp >> 16u) && sport <= (sp & 0xffffu)
        && dport >= (dp >> 16u) && dport <= (dp & 0xffffu)
        && (p & (pr >> 8u)) == (pr & 0xffu)) {
      found = r;
      break;
    }
    r = r + 1;
  }
  ${C.rule}[i] = found;
}
`,
};

function program(host: ProgramHost, structures: readonly StructureHandle[]): ProgramRun {
  return { program: ACL_MATCH_WGSL, extras: [host.structureBuffer(structures[0])] };
}

registerWgslKernel(aclMatchContract, import.meta.url, program);
