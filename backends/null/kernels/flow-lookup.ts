/** The null backend's form of kernel `flow-lookup`: the CPU reference (right answers, fake device). */
import { registerKernel } from '../../../core/kernel.js';
import { FLOW_LOOKUP, flowLookupContract } from '../../../core/kernels/flow-lookup/index.js';
import type { NullBackend } from '../null-backend.js';

registerKernel<NullBackend, typeof flowLookupContract>(flowLookupContract, {
  backend: 'null',
  source: import.meta.url,
  run: (backend, io, structures) => backend.execute(FLOW_LOOKUP, io, structures),
});
