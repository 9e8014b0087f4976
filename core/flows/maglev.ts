/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4): a lookup table of M
 * (prime) entries filled from each backend's permutation (offset, skip) in turns, so every
 * backend holds M/N entries (to within one) and a change of the backend set moves few entries.
 * Backends are named by text (their address); the permutation depends on the name only.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_MAGLEV_SIZE = 65537;

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function nameHashes(name: string): [number, number] {
  const h = createHash('sha1').update(name).digest();
  return [h.readUInt32BE(0), h.readUInt32BE(4)];
}

/** The lookup table: entry i holds a backend index (into `names`); all -1 when there are none. */
export function maglevTable(names: readonly string[], size = DEFAULT_MAGLEV_SIZE): Int32Array {
  if (!isPrime(size)) throw new Error(`Maglev table size must be prime, got ${size}`);
  const table = new Int32Array(size).fill(-1);
  const n = names.length;
  if (n === 0) return table;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  names.forEach((name, i) => {
    const [h1, h2] = nameHashes(name);
    offset[i] = h1 % size;
    skip[i] = (h2 % (size - 1)) + 1;
  });
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = (offset[i] + next[i] * skip[i]) % size;
      while (table[c] >= 0) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % size;
      }
      table[c] = i;
      next[i]++;
      if (++filled === size) return table;
    }
  }
}
