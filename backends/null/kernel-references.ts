/**
 * The null backend's kernels: each kernel's CPU reference, called with the structure images it
 * reads. One table for both places the null device computes: the calling thread (inline) and
 * the modelled device's worker thread (modelled-device-worker.ts), so the two cannot disagree.
 */
import type { KernelIo } from '../../core/backend.js';
import { FLOW_HASH, flowHashReference, type FlowHashIo } from '../../core/kernels/flow-hash/index.js';
import { FLOW_LOOKUP, flowLookupReference, type FlowLookupIo } from '../../core/kernels/flow-lookup/index.js';
import { IP_LOOKUP, ipLookupReference, type IpLookupIo } from '../../core/kernels/ip-lookup/index.js';

/** Computes `io`'s outputs from its inputs and the images of the run's structures (contract order). */
export type KernelReference = (images: readonly Uint32Array[], io: KernelIo) => void;

// The io was held to the kernel's contract (checkKernelIo) before it reaches a reference.
export const kernelReferences: Readonly<Record<string, KernelReference>> = {
  [IP_LOOKUP]: (images, io) => ipLookupReference(images[0], io as IpLookupIo),
  [FLOW_HASH]: (_images, io) => flowHashReference(io as FlowHashIo),
  [FLOW_LOOKUP]: (images, io) => flowLookupReference(images[0], io as FlowLookupIo),
};

export function kernelReference(kernel: string): KernelReference {
  const r = kernelReferences[kernel];
  if (r === undefined) throw new Error(`null: no reference for kernel ${kernel}`);
  return r;
}
