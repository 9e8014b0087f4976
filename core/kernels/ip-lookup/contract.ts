/**
 * Kernel `ip-lookup`: longest-prefix match of `dst` in FIB `vrf` of a multi-FIB image, answering
 * `nextHop` (the next-hop index, -1 where no route matches). Every form is listed in README.md.
 */
import { columnNames, kernelRegistry, type KernelIoOf } from '../../kernel.js';

export const IP_LOOKUP = 'ip-lookup';

export const ipLookupContract = kernelRegistry.declare({
  name: IP_LOOKUP,
  inputs: [
    { name: 'dst', type: 'u32' },
    { name: 'vrf', type: 'i32' },
  ],
  outputs: [{ name: 'nextHop', type: 'i32' }],
  state: ['multi-fib-v4'],
} as const);

/** The columns of one ip-lookup run, typed from the contract. */
export type IpLookupIo = KernelIoOf<typeof ipLookupContract>;

/** Column names for WGSL and simulator bindings (`IP_LOOKUP_COLUMNS.dst === 'dst'`). */
export const IP_LOOKUP_COLUMNS = columnNames(ipLookupContract);
