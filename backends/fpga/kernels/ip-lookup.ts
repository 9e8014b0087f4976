/**
 * The fpga backend's form of kernel `ip-lookup`: the `ip_lookup` pipeline (hwsim/rtl/ip_lookup.v)
 * simulated by Verilator and driven by hwsim/harness/ip_lookup_harness.cpp. The simulator's
 * lookup frame carries the contract's input columns in contract order (dst, vrf) and answers
 * its output column (nextHop) with the batch's cycle figures, which this form returns.
 */
import { registerKernel } from '../../../core/kernel.js';
import { ipLookupContract } from '../../../core/kernels/ip-lookup/index.js';
import type { FpgaBackend } from '../fpga-backend.js';
import { pipelineFigures } from './pipeline-figures.js';

registerKernel<FpgaBackend, typeof ipLookupContract>(ipLookupContract, {
  backend: 'fpga',
  source: import.meta.url,
  async run(backend, io, structures) {
    const r = await backend.lookup(structures[0], io.inputs.dst, io.inputs.vrf, io.outputs.nextHop, io.count);
    return { device: pipelineFigures(r, io.count, backend.options.clockMHz, 'cyclesPerLookup') };
  },
});
