/**
 * Fixtures the lookup benchmarks share: the 2023 full table (901,899 IPv4 prefixes) loaded
 * with the project's own loader, with synthetic next hops since the file has none, and
 * columns of seeded random addresses.
 */
import type { KernelIo } from '../core/backend.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import type { MultiFib } from '../core/structures/multi-fib/multi-fib.js';
import { sharedData } from './paths.js';

/** Next hops given to the full table's prefixes (chosen by a hash of the prefix). */
export const FULL_TABLE_NEXT_HOPS = 64;

export function fullTableFib(): MultiFib {
  return multiFibFromLoaded([loadRouteFile(sharedData('routes/bart-prefixes-2023.txt.gz'), { syntheticNextHops: FULL_TABLE_NEXT_HOPS })]);
}

/** `n` random addresses (mulberry32 from `seed`): the columns of one ip-lookup kernel call on FIB 0. */
export function randomLookupIo(n: number, seed: number): KernelIo {
  let a = seed >>> 0;
  const dst = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    dst[i] = t ^ (t >>> 14);
  }
  return { count: n, inputs: { dst, vrf: new Int32Array(n) }, outputs: { nextHop: new Int32Array(n) } };
}
