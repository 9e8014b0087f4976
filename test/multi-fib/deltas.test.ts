import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import { H_L0, lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { applyDeltaToImage, type ImageDelta } from '../../core/structures/image.js';
import { loadRouteFile } from '../../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../../core/routes/build-multi-fib.js';
import { NaiveLpm, rng, sampleAddresses } from './naive-lpm.js';
import { checkAgainstNaive } from './check.js';
import { nodeWords, slotEntry } from './node-slots.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const linx = ['20170101.0000', '20170109.1600', '20170112.0800'].map((d) => path.join(DATA, `routes/preprocessed-ipv4.rib.${d}.txt`));

/** The image's content with offsets replaced by what they point at: equal for equal tables, wherever blocks were placed. */
function canonical(image: Uint32Array, x: number): string {
  const walk = (e: number): string => {
    const tag = e >>> 30;
    const off = e & 0x3fffffff;
    if (tag === 0) return String(off);
    if (tag === 1) return `r(${Array.from(image.subarray(off, off + 2 + 2 * image[off + 1])).join(',')})`;
    const runs: string[] = [];
    for (let s = 0; s < 256; s++) runs.push(walk(slotEntry(image, e, s)));
    // A wide node's words past its header are offsets (placement); a narrow node's are its leaves.
    const words = tag === 3 ? nodeWords(image, e) : 10;
    return `${tag === 3 ? 'narrow' : 'n'}(${Array.from(image.subarray(off, off + words)).join(',')}|${runs.join(',')})`;
  };
  return walk(image[image[H_L0] + x]);
}

/** Narrow nodes reachable from entry `e` (counted once per path). */
function narrowNodesUnder(image: Uint32Array, e: number): number {
  const tag = e >>> 30;
  if (tag === 3) return 1;
  if (tag !== 2) return 0;
  let n = 0;
  let prev = -1;
  for (let s = 0; s < 256; s++) {
    const c = slotEntry(image, e, s);
    if (c !== prev) n += narrowNodesUnder(image, c);
    prev = c;
  }
  return n;
}

/** A structure built from scratch (bulk) from `fib`'s current routes, sharing its next-hop table. */
function freshBuild(fib: MultiFib, names: string[]): MultiFib {
  const columns = names.map((_, f) => {
    const rs = fib.routesOf(f);
    return { count: rs.length, prefix: Int32Array.from(rs, (r) => r.prefix | 0), len: Uint8Array.from(rs, (r) => r.len), nh: Int32Array.from(rs, (r) => r.nextHop) };
  });
  return new MultiFib(names, columns, fib.nextHops);
}

function randomRoute(next: () => number): [number, number] {
  const len = 8 + (next() % 25);
  const p = (((next() & 0x1fffffff) | 0) & NaiveLpm.mask(len)) >>> 0;
  return [p, len];
}

describe('MultiFib deltas', () => {
  it('applying each delta to a copy gives exactly the image; lookups between any two writes see old or new', () => {
    const fib = multiFibFromLoaded(linx.map((f) => loadRouteFile(f)), ['a', 'b', 'c']);
    let mirror: Uint32Array = fib.image.slice();
    const deltas: ImageDelta[] = [];
    fib.onDelta((d) => deltas.push(d));
    const next = rng(11);
    const fibs = [0, 1, 2];
    let narrowPublished = 0;
    for (let round = 0; round < 60; round++) {
      const changed: [number, number][] = [];
      const k = round % 3 === 0 ? 1 : 1 + (next() % 8);
      const before = fib.image.slice();
      fib.beginUpdate();
      for (let j = 0; j < k; j++) {
        const [p, len] = randomRoute(next);
        changed.push([p, len]);
        // Odd rounds change all three FIBs alike: no record, so the rebuilt nodes can be narrow.
        const one = next() % 3;
        const nh = next() % fib.nextHops.size;
        if (round % 2 === 1) for (const f of fibs) fib.replace(f, p, len, nh);
        else fib.replace(one, p, len, nh);
      }
      fib.commitUpdate();
      const d = deltas[deltas.length - 1];
      expect(d.fromGeneration).toBe(fib.generation - 1);
      // Addresses inside and around the changed prefixes, and random ones.
      const addrs = sampleAddresses(changed.map((c) => c[0]), changed.map((c) => c[1]), 400, next);
      const after = fib.image;
      // Layout 2: the published /16s must include narrow nodes (16-bit runs) for this to cover them.
      for (const x of new Set(changed.map((c) => c[0] >>> 16))) {
        const e = after[after[H_L0] + x];
        if (e !== before[before[H_L0] + x]) narrowPublished += narrowNodesUnder(after, e);
      }
      const copy = mirror.slice();
      let cur: Uint32Array = copy;
      for (const w of d.writes) {
        cur = applyDeltaToImage(cur, { ...d, writes: [w] });
        for (const f of fibs) {
          for (const a of addrs) {
            const got = lookupImage(cur, f, a);
            const old = lookupImage(before, f, a);
            const now = lookupImage(after, f, a);
            if (got !== old && got !== now) expect({ fib: f, a, got }).toEqual({ fib: f, a, got: `${old} or ${now}` });
          }
        }
      }
      mirror = applyDeltaToImage(mirror, d);
      expect(mirror.length).toBeGreaterThanOrEqual(fib.image.length);
      expect(Buffer.from(mirror.buffer, 0, fib.image.length * 4).equals(Buffer.from(fib.image.buffer, fib.image.byteOffset, fib.image.length * 4))).toBe(true);
    }
    expect(narrowPublished).toBeGreaterThan(20);
    // The updated image holds exactly what a fresh build of the same routes holds: the same
    // entries, nodes and records (placement aside) and no leaked blocks.
    const fresh = freshBuild(fib, ['a', 'b', 'c']);
    const [m1, m2] = [fib.memory(), fresh.memory()];
    expect([m1.nodes, m1.records]).toEqual([m2.nodes, m2.records]);
    for (let x = 0; x < 65536; x++) if (canonical(fib.image, x) !== canonical(fresh.image, x)) expect(canonical(fib.image, x)).toBe(canonical(fresh.image, x));
  });

  it('a million route changes: memory plateaus, and the result still matches the naive LPM', () => {
    const f = new MultiFib(['x', 'y']);
    const naive = new NaiveLpm();
    const next = rng(5);
    // Routes concentrated in 256 /16s (a few shorter ones over them), so a batch rebuilds few /16s.
    const pool: [number, number][] = [];
    for (let i = 0; i < 4000; i++) {
      const len = i % 50 === 0 ? 8 + (next() % 8) : 16 + (next() % 17);
      pool.push([(((0x0a000000 | (next() & 0x00ffffff)) & NaiveLpm.mask(len)) >>> 0), len]);
    }
    const lengths: number[] = [];
    const total = 1_000_000;
    let done = 0;
    while (done < total) {
      // Single-change commits at first (one L0 entry publishes), then batches (L0 copies and flips).
      const batch = done < 5_000 ? 1 : 2000;
      f.beginUpdate();
      for (let j = 0; j < batch; j++) {
        const [p, len] = pool[next() % pool.length];
        const fib = next() & 1;
        if (naive.has(fib, p, len)) {
          f.removeRoute(fib, p, len);
          naive.delete(fib, p, len);
        } else {
          const nh = next() % 16;
          f.addRoute(fib, p, len, nh);
          naive.set(fib, p, len, nh);
        }
      }
      f.commitUpdate();
      if (Math.floor((done + batch) / 50_000) > Math.floor(done / 50_000)) lengths.push(f.image.length);
      done += batch;
    }
    expect(lengths.length).toBe(20);
    const q = lengths[Math.floor(lengths.length / 4)];
    expect(Math.max(...lengths.slice(Math.floor(lengths.length / 4)))).toBeLessThanOrEqual(q * 1.1);
    const addrs = sampleAddresses(pool.map((r) => r[0]), pool.map((r) => r[1]), 20_000, next);
    checkAgainstNaive(f, naive, [0, 1], addrs, 5);
    // Nothing leaked: a fresh build of the surviving routes has the same nodes and records.
    const fresh = freshBuild(f, ['x', 'y']);
    expect([f.memory().nodes, f.memory().records]).toEqual([fresh.memory().nodes, fresh.memory().records]);
    for (let x = 0x0a00; x < 0x0b00; x++) if (canonical(f.image, x) !== canonical(fresh.image, x)) expect(canonical(f.image, x)).toBe(canonical(fresh.image, x));
  });
});
