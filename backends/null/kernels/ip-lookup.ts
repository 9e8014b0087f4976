/** The null backend's form of kernel `ip-lookup`: the CPU reference (right answers, fake device). */
import { registerKernel } from '../../../core/kernel.js';
import { IP_LOOKUP, ipLookupContract } from '../../../core/kernels/ip-lookup/index.js';
import type { NullBackend } from '../null-backend.js';

registerKernel<NullBackend, typeof ipLookupContract>(ipLookupContract, {
  backend: 'null',
  source: import.meta.url,
  run: (backend, io, structures) => backend.execute(IP_LOOKUP, io, structures),
});
