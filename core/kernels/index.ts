/** Every kernel hetbox declares, one folder each; importing this module declares them in `kernelRegistry`. */
export * from './ip-lookup/index.js';
export * from './flow-hash/index.js';
export * from './flow-lookup/index.js';
export * from './acl-match/index.js';
