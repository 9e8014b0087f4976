/** Kernel `ip-lookup`: its contract and CPU forms (every other form: README.md in this folder). */
export { IP_LOOKUP, ipLookupContract, IP_LOOKUP_COLUMNS, type IpLookupIo } from './contract.js';
export { ipLookupReference, ipLookupCpu, lookupImage, lookupBatch } from './reference.js';
