/** The cpu backend's form of kernel `acl-match`: the linear first-match scan over the image (core/kernels/acl-match/reference.ts). */
import { registerKernel } from '../../../core/kernel.js';
import { aclMatchContract, aclMatchCpu } from '../../../core/kernels/acl-match/index.js';
import type { CpuBackend } from '../cpu-backend.js';

registerKernel<CpuBackend, typeof aclMatchContract>(aclMatchContract, {
  backend: 'cpu',
  source: import.meta.url,
  run(backend, io, structures) {
    const image = backend.structures.image(structures[0]);
    aclMatchCpu(new Int32Array(image.buffer, image.byteOffset, image.length), io);
  },
});
