/** The cpu backend's form of kernel `ip-lookup`: `ipLookupCpu` (the fast walk, core/kernels/ip-lookup/reference.ts). */
import { registerKernel } from '../../../core/kernel.js';
import { ipLookupContract, ipLookupCpu } from '../../../core/kernels/ip-lookup/index.js';
import type { CpuBackend } from '../cpu-backend.js';

registerKernel<CpuBackend, typeof ipLookupContract>(ipLookupContract, {
  backend: 'cpu',
  source: import.meta.url,
  run(backend, io, structures) {
    const img = backend.structures.image(structures[0]);
    ipLookupCpu(new Int32Array(img.buffer, img.byteOffset, img.length), io);
  },
});
