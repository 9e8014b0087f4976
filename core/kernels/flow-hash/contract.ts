/**
 * Kernel `flow-hash`: the RSS Toeplitz hash of `src`, `dst` and (TCP, UDP) `ports` into `flow`.
 * Every form is listed in README.md.
 */
import { columnNames, kernelRegistry, type KernelIoOf } from '../../kernel.js';

export const FLOW_HASH = 'flow-hash';

export const flowHashContract = kernelRegistry.declare({
  name: FLOW_HASH,
  inputs: [
    { name: 'src', type: 'u32' },
    { name: 'dst', type: 'u32' },
    { name: 'ports', type: 'u32' },
    { name: 'proto', type: 'i32' },
  ],
  outputs: [{ name: 'flow', type: 'u32' }],
  state: [],
} as const);

/** The columns of one flow-hash run, typed from the contract. */
export type FlowHashIo = KernelIoOf<typeof flowHashContract>;

/** Column names for WGSL bindings (`FLOW_HASH_COLUMNS.flow === 'flow'`). */
export const FLOW_HASH_COLUMNS = columnNames(flowHashContract);
