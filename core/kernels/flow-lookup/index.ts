/** Kernel `flow-lookup`: its contract and CPU form (every other form: README.md in this folder). */
export { FLOW_LOOKUP, flowLookupContract, FLOW_LOOKUP_COLUMNS, FLOW_KEY_COLUMNS, type FlowKeyColumn, type FlowLookupIo } from './contract.js';
export { flowLookupReference, flowLookup, keysFromColumns, columnsFromKeys } from './reference.js';
export { FLOW_MISS } from '../../structures/flow-table/flow-table-image.js';
