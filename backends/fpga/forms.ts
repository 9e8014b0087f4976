/** The fpga backend's kernel forms: ip-lookup runs on the simulated hb_lookup pipeline. */
import { registerKernel } from '../../core/kernel.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup.js';
import type { FpgaBackend } from './fpga-backend.js';

registerKernel<FpgaBackend>({
  kernel: IP_LOOKUP,
  backend: 'fpga',
  run: async (backend, io, structures) => {
    if (structures.length !== 1) throw new Error(`fpga: ${IP_LOOKUP} takes one multi-fib-v4 structure, got ${structures.length}`);
    await backend.lookupIo(structures[0], io);
  },
});
