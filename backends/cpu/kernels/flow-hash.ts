/** The cpu backend's form of kernel `flow-hash`: the table-driven reference (core/kernels/flow-hash/reference.ts). */
import { registerKernel } from '../../../core/kernel.js';
import { flowHashContract, flowHashReference } from '../../../core/kernels/flow-hash/index.js';
import type { CpuBackend } from '../cpu-backend.js';

registerKernel<CpuBackend, typeof flowHashContract>(flowHashContract, {
  backend: 'cpu',
  source: import.meta.url,
  run(_backend, io) {
    flowHashReference(io);
  },
});
