/**
 * The fpga backend's form of kernel `flow-hash`: the `flow_hash` Toeplitz pipeline
 * (hwsim/rtl/flow_hash.v) simulated by Verilator and driven by hwsim/harness/flow_harness.cpp.
 * The simulator's lookup frame carries the contract's input columns in contract order (src,
 * dst, ports, proto) and answers its output column (flow) with the batch's cycle figures.
 */
import { registerKernel } from '../../../core/kernel.js';
import { flowHashContract } from '../../../core/kernels/flow-hash/index.js';
import type { FpgaBackend } from '../fpga-backend.js';
import { pipelineFigures } from './pipeline-figures.js';

registerKernel<FpgaBackend, typeof flowHashContract>(flowHashContract, {
  backend: 'fpga',
  source: import.meta.url,
  async run(backend, io) {
    const { src, dst, ports, proto } = io.inputs;
    const r = await backend.flowHash([src, dst, ports, proto], io.outputs.flow, io.count);
    return { device: pipelineFigures(r, io.count, backend.options.clockMHz, 'cyclesPerHash') };
  },
});
