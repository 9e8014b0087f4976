/** Turn loaded route files into one MultiFib: every loaded FIB becomes a FIB of the structure. */
import { MultiFib } from '../structures/multi-fib/multi-fib.js';
import { NextHopTable } from '../structures/multi-fib/next-hops.js';
import type { LoadedRoutes } from './load-routes.js';

export interface FromLoadedOptions {
  /**
   * The caller is done with `files`: their columns may become the structure's own storage (no
   * second copy of a full table). Afterwards every loaded FIB reads as empty.
   */
  consume?: boolean;
}

/** FIB names are the loaded names unless `names` gives one per FIB (in file order). */
export function multiFibFromLoaded(files: readonly LoadedRoutes[], names?: readonly string[], options: FromLoadedOptions = {}): MultiFib {
  const hops = new NextHopTable();
  const fibs = files.flatMap((f) => f.fibs.map((x) => ({ file: f, fib: x })));
  const maps = new Map(files.map((f) => [f, Int32Array.from(f.nextHops, (h) => hops.intern(h))]));
  const columns = fibs.map(({ file, fib: x }) => {
    const map = maps.get(file)!;
    // A file's next hops interned first into a fresh table keep their indices: its column serves as is.
    if (map.every((v, i) => v === i)) return { count: x.count, prefix: x.prefix, len: x.len, nh: x.hop };
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
  const consume = options.consume === true;
  const fib = new MultiFib(fibNames, columns, hops, consume);
  if (consume) {
    for (const { fib: x } of fibs) {
      x.count = 0;
      x.prefix = new Int32Array(0);
      x.len = new Uint8Array(0);
      x.hop = new Int32Array(0);
    }
  }
  return fib;
}
