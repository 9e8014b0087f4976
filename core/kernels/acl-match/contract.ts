/**
 * Kernel `acl-match`: each packet's first matching rule of an IPv4 access-control list.
 * Every form is listed in README.md.
 */
import { columnNames, kernelRegistry, type KernelIoOf } from '../../kernel.js';
import { ACL_RULES_V4 } from '../../structures/acl/acl-image.js';

export const ACL_MATCH = 'acl-match';

export const aclMatchContract = kernelRegistry.declare({
  name: ACL_MATCH,
  inputs: [
    { name: 'src', type: 'u32' },
    { name: 'dst', type: 'u32' },
    { name: 'ports', type: 'u32' },
    { name: 'proto', type: 'i32' },
  ],
  outputs: [{ name: 'rule', type: 'i32' }],
  state: [ACL_RULES_V4],
} as const);

/** The columns of one acl-match run, typed from the contract. */
export type AclMatchIo = KernelIoOf<typeof aclMatchContract>;

/** Column names for WGSL bindings. */
export const ACL_MATCH_COLUMNS = columnNames(aclMatchContract);
