/** Kernel `acl-match`: its contract and CPU forms (every other form: README.md in this folder). */
export { ACL_MATCH, aclMatchContract, ACL_MATCH_COLUMNS, type AclMatchIo } from './contract.js';
export { aclMatchReference, aclMatchCpu, NO_RULE } from './reference.js';
