/** The null backend's form of kernel `flow-hash`: the CPU reference (right answers, fake device). */
import { registerKernel } from '../../../core/kernel.js';
import { FLOW_HASH, flowHashContract } from '../../../core/kernels/flow-hash/index.js';
import type { NullBackend } from '../null-backend.js';

registerKernel<NullBackend, typeof flowHashContract>(flowHashContract, {
  backend: 'null',
  source: import.meta.url,
  run: (backend, io, structures) => backend.execute(FLOW_HASH, io, structures),
});
