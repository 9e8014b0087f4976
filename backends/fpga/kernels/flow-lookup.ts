/**
 * The fpga backend's form of kernel `flow-lookup`: the `flow_lookup` pipeline
 * (hwsim/rtl/flow_lookup.v) simulated by Verilator and driven by hwsim/harness/flow_harness.cpp.
 * The simulator's lookup frame carries the contract's ten key-word columns in contract order and
 * answers its output column (entry) with the batch's cycle figures, which this form returns.
 */
import { registerKernel } from '../../../core/kernel.js';
import { FLOW_KEY_COLUMNS, flowLookupContract } from '../../../core/kernels/flow-lookup/index.js';
import type { FpgaBackend } from '../fpga-backend.js';
import { pipelineFigures } from './pipeline-figures.js';

registerKernel<FpgaBackend, typeof flowLookupContract>(flowLookupContract, {
  backend: 'fpga',
  source: import.meta.url,
  async run(backend, io, structures) {
    const keys = FLOW_KEY_COLUMNS.map((name) => io.inputs[name]);
    const r = await backend.flowLookup(structures[0], keys, io.outputs.entry, io.count);
    return { device: pipelineFigures(r, io.count, backend.options.clockMHz, 'cyclesPerLookup') };
  },
});
