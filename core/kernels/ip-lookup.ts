/**
 * Kernel `ip-lookup`: longest-prefix match of `dst` in FIB `vrf` of a multi-FIB image.
 *
 * The CPU reference is `lookupImage` (core/structures/multi-fib/image-format.ts); every other
 * form (WGSL, gpu.js, RTL) is tested to answer exactly what it answers, item by item.
 */
import type { KernelIo } from '../backend.js';
import { kernelRegistry, type KernelContract } from '../kernel.js';
import { lookupImage } from '../structures/multi-fib/image-format.js';

export const IP_LOOKUP = 'ip-lookup';

export const ipLookupContract: KernelContract = kernelRegistry.declare({
  name: IP_LOOKUP,
  inputs: [
    { name: 'dst', type: 'u32' },
    { name: 'vrf', type: 'i32' },
  ],
  outputs: [{ name: 'nextHop', type: 'i32' }],
  state: ['multi-fib-v4'],
});

/** The reference form: one `lookupImage` per item; -1 (NO_NEXT_HOP) where no route matches. */
export function ipLookupReference(image: Uint32Array, io: KernelIo): void {
  const dst = io.inputs.dst;
  const vrf = io.inputs.vrf;
  const out = io.outputs.nextHop;
  for (let i = 0; i < io.count; i++) out[i] = lookupImage(image, vrf[i], dst[i]);
}
