/** Turn loaded route files into one MultiFib: every loaded FIB becomes a FIB of the structure. */
import { MultiFib } from '../structures/multi-fib/multi-fib.js';
import { NextHopTable } from '../structures/multi-fib/next-hops.js';
import type { LoadedRoutes } from './load-routes.js';

/** FIB names are the loaded names unless `names` gives one per FIB (in file order). */
export function multiFibFromLoaded(files: readonly LoadedRoutes[], names?: readonly string[]): MultiFib {
  const hops = new NextHopTable();
  const fibs = files.flatMap((f) => f.fibs.map((x) => ({ file: f, fib: x })));
  const columns = fibs.map(({ file, fib: x }) => {
    const map = Int32Array.from(file.nextHops, (h) => hops.intern(h));
    const nh = new Int32Array(x.count);
    for (let i = 0; i < x.count; i++) nh[i] = map[x.hop[i]];
    return { count: x.count, prefix: x.prefix, len: x.len, nh };
  });
  const fibNames = fibs.map(({ fib: x }, i) => names?.[i] ?? x.name);
  const seen = new Set<string>();
  for (const n of fibNames) {
    if (seen.has(n)) throw new Error(`two FIBs named '${n}'`);
    seen.add(n);
  }
  return new MultiFib(fibNames, columns, hops);
}
