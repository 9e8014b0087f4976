/**
 * Kernel `flow-lookup`: the flow table's lookup, key -> entry index. Each item is one flow key
 * (core/flows/flow-key.ts) spread over KEY_WORDS u32 columns `k0`..`k9` (word w of the key in
 * column `kw`), and the answer `entry` is the index of the used entry holding that key in a
 * flow-table image, or FLOW_MISS (-1). Every form is listed in README.md.
 */
import { columnNames, kernelRegistry, type KernelIoOf } from '../../kernel.js';
import { KEY_WORDS } from '../../flows/flow-key.js';
import { FLOW_TABLE } from '../../structures/flow-table/flow-table-image.js';

export const FLOW_LOOKUP = 'flow-lookup';

export const flowLookupContract = kernelRegistry.declare({
  name: FLOW_LOOKUP,
  // Spelled out (not generated) so the column names are literal types: a form that names a
  // column the contract lacks does not compile.
  inputs: [
    { name: 'k0', type: 'u32' },
    { name: 'k1', type: 'u32' },
    { name: 'k2', type: 'u32' },
    { name: 'k3', type: 'u32' },
    { name: 'k4', type: 'u32' },
    { name: 'k5', type: 'u32' },
    { name: 'k6', type: 'u32' },
    { name: 'k7', type: 'u32' },
    { name: 'k8', type: 'u32' },
    { name: 'k9', type: 'u32' },
  ],
  outputs: [{ name: 'entry', type: 'i32' }],
  state: [FLOW_TABLE],
} as const);

/** The columns of one flow-lookup run, typed from the contract. */
export type FlowLookupIo = KernelIoOf<typeof flowLookupContract>;

/** Column names for WGSL bindings (`FLOW_LOOKUP_COLUMNS.entry === 'entry'`). */
export const FLOW_LOOKUP_COLUMNS = columnNames(flowLookupContract);

/** A key-word column's name. */
export type FlowKeyColumn = (typeof flowLookupContract)['inputs'][number]['name'];

/** The key-word columns in key order: column FLOW_KEY_COLUMNS[w] holds word w of every key. */
export const FLOW_KEY_COLUMNS: readonly FlowKeyColumn[] = flowLookupContract.inputs.map((c) => c.name);

// The key's width is flow-key.ts's to decide; a contract that disagrees would hash short keys.
if (FLOW_KEY_COLUMNS.length !== KEY_WORDS) throw new Error(`flow-lookup: the contract has ${FLOW_KEY_COLUMNS.length} key columns, a flow key has ${KEY_WORDS} words`);
