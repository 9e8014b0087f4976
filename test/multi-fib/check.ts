/** Differential check of every lookup form of a MultiFib against the naive reference. */
import { expect } from 'vitest';
import type { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { lookupBatch } from '../../core/structures/multi-fib/lookup-batch.js';
import type { NaiveLpm } from './naive-lpm.js';
import { formatIPv4 } from '../../core/routes/ipv4.js';

/** Compare image (reference walk and batch form) and logical lookups with the naive answers; returns the count checked. */
export function checkAgainstNaive(fib: MultiFib, naive: NaiveLpm, fibs: readonly number[], addrs: Int32Array, logicalEvery = 1): number {
  const n = addrs.length;
  const out = new Int32Array(n);
  const vrf = new Int32Array(n);
  const image = fib.image;
  let checked = 0;
  for (const f of fibs) {
    vrf.fill(f);
    lookupBatch(fib.imageI32, fibs.length === 1 && f === 0 ? null : vrf, addrs, out, n);
    for (let i = 0; i < n; i++) {
      const a = addrs[i];
      const want = naive.lookup(f, a >>> 0);
      const viaRef = lookupImage(image, f, a);
      if (out[i] !== want || viaRef !== want) {
        expect({ fib: f, address: formatIPv4(a), batch: out[i], reference: viaRef }).toEqual({ fib: f, address: formatIPv4(a), batch: want, reference: want });
      }
      if (i % logicalEvery === 0) {
        const m = fib.lookup(f, a >>> 0);
        const nm = naive.match(f, a >>> 0);
        if ((m === null) !== (nm === null) || (m !== null && nm !== null && (m.len !== nm.len || m.nextHop !== nm.nh))) {
          expect({ fib: f, address: formatIPv4(a), logical: m && { len: m.len, nh: m.nextHop } }).toEqual({ fib: f, address: formatIPv4(a), logical: nm && { len: nm.len, nh: nm.nh } });
        }
      }
      checked++;
    }
  }
  return checked;
}
