/** Every kernel contract hetbox declares; importing this module declares them in `kernelRegistry`. */
export { IP_LOOKUP, ipLookupContract, ipLookupReference } from './ip-lookup.js';
export { FLOW_HASH, flowHashContract, flowHashReference, toeplitzHash, toeplitzTable, RSS_DEFAULT_KEY, isPortProtocol } from './flow-hash.js';
