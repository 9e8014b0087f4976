/** The null backend's form of kernel `acl-match`: the CPU form (right answers, fake device). */
import { registerKernel } from '../../../core/kernel.js';
import { ACL_MATCH, aclMatchContract } from '../../../core/kernels/acl-match/index.js';
import type { NullBackend } from '../null-backend.js';

registerKernel<NullBackend, typeof aclMatchContract>(aclMatchContract, {
  backend: 'null',
  source: import.meta.url,
  run: (backend, io, structures) => backend.execute(ACL_MATCH, io, structures),
});
