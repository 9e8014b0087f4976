/** Kernel `flow-hash`: its contract and CPU forms (every other form: README.md in this folder). */
export { FLOW_HASH, flowHashContract, FLOW_HASH_COLUMNS, type FlowHashIo } from './contract.js';
export { flowHashReference, toeplitzHash, toeplitzTable, RSS_DEFAULT_KEY, isPortProtocol, FLOW_HASH_INPUT_BYTES } from './reference.js';
