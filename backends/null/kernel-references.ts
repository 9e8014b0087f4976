/**
 * The null backend's kernels: what the cpu backend computes for each kernel (its batch forms,
 * each tested item by item against the kernel's reference), called with the structure images
 * the run reads. One table for both places the null device computes: the calling thread
 * (inline) and the modelled device's worker thread (modelled-device-worker.ts), so the two
 * cannot disagree. The batch forms, not the per-item references: the worker's compute then
 * stays below the modelled GPU's time instead of being what limits it.
 */
import type { KernelIo } from '../../core/backend.js';
import { KEY_WORDS } from '../../core/flows/flow-key.js';
import { FLOW_HASH, flowHashReference, type FlowHashIo } from '../../core/kernels/flow-hash/index.js';
import { FLOW_LOOKUP, flowLookupReference, type FlowLookupIo } from '../../core/kernels/flow-lookup/index.js';
import { IP_LOOKUP, ipLookupCpu, type IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { ACL_MATCH, aclMatchCpu, type AclMatchIo } from '../../core/kernels/acl-match/index.js';

/** Computes `io`'s outputs from its inputs and the images of the run's structures (contract order). */
export type KernelReference = (images: readonly Uint32Array[], io: KernelIo) => void;

// Grown to the largest flow-lookup batch seen; a run is synchronous, so one buffer serves every run.
let flowKeys = new Uint32Array(0);

// The io was held to the kernel's contract (checkKernelIo) before it reaches a reference.
export const kernelReferences: Readonly<Record<string, KernelReference>> = {
  [IP_LOOKUP]: (images, io) => ipLookupCpu(new Int32Array(images[0].buffer, images[0].byteOffset, images[0].length), io as IpLookupIo),
  [FLOW_HASH]: (_images, io) => flowHashReference(io as FlowHashIo),
  [FLOW_LOOKUP]: (images, io) => {
    if (flowKeys.length < io.count * KEY_WORDS) flowKeys = new Uint32Array(io.count * KEY_WORDS);
    flowLookupReference(images[0], io as FlowLookupIo, flowKeys);
  },
  [ACL_MATCH]: (images, io) => aclMatchCpu(new Int32Array(images[0].buffer, images[0].byteOffset, images[0].length), io as AclMatchIo),
};

export function kernelReference(kernel: string): KernelReference {
  const r = kernelReferences[kernel];
  if (r === undefined) throw new Error(`null: no reference for kernel ${kernel}`);
  return r;
}
