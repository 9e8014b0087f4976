/**
 * The CPU batch lookup's /24 answer cache (core/structures/multi-fib/destination-cache.ts):
 * lookupBatch must answer exactly what the reference walk (lookupImage) and a naive LPM answer,
 * whether the cache is cold, warm, skipped, or was filled before route deltas changed the image.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadRouteFile } from '../../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../../core/routes/build-multi-fib.js';
import { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { cachedSlots, lookupBatch } from '../../core/structures/multi-fib/lookup-batch.js';
import { cacheOwner, ownCache, SKIP_LOOKUPS } from '../../core/structures/multi-fib/destination-cache.js';
import { HostImage } from '../../core/structures/host-image.js';
import { formatIPv4 } from '../../core/routes/ipv4.js';
import { NaiveLpm, rng, sampleAddresses } from './naive-lpm.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const linx = ['20170101.0000', '20170109.1600', '20170112.0800'].map((d) => path.join(DATA, `routes/preprocessed-ipv4.rib.${d}.txt`));

/** lookupBatch over `addrs` in chunks of `batch` for FIB `fib`, each chunk on a cache that is not skipping. */
function batchAnswers(image: Int32Array, fib: number, addrs: Int32Array, batch: number, useCache = true): Int32Array {
  const out = new Int32Array(addrs.length);
  const vrf = new Int32Array(addrs.length).fill(fib);
  for (let o = 0; o < addrs.length; o += batch) {
    const n = Math.min(batch, addrs.length - o);
    if (useCache) ownCache(image).skip = 0;
    lookupBatch(image, fib === 0 ? null : vrf.subarray(o, o + n), addrs.subarray(o, o + n), out.subarray(o, o + n), n);
  }
  return out;
}

/** Every answer equal to lookupImage's (and to `naive`'s when given); returns the count checked. */
function expectReference(image: Int32Array, fib: number, addrs: Int32Array, got: Int32Array, naive?: NaiveLpm): number {
  for (let i = 0; i < addrs.length; i++) {
    const want = lookupImage(image, fib, addrs[i]);
    const fromNaive = naive === undefined ? want : naive.lookup(fib, addrs[i] >>> 0);
    if (got[i] !== want || want !== fromNaive) {
      expect({ fib, address: formatIPv4(addrs[i]), batch: got[i], naive: fromNaive }).toEqual({ fib, address: formatIPv4(addrs[i]), batch: want, naive: want });
    }
  }
  return addrs.length;
}

/** `distinct` sampled addresses, each repeated: traffic the cache hits. */
function hotAddresses(prefixes: number[], lens: number[], distinct: number, total: number, seed: number): Int32Array {
  const next = rng(seed);
  const base = sampleAddresses(prefixes, lens, distinct, next);
  const out = new Int32Array(total);
  for (let i = 0; i < total; i++) out[i] = base[next() % distinct];
  return out;
}

describe('lookupBatch and its /24 answer cache', () => {
  it('answers what lookupImage answers on the three LINX tables as 3 FIBs (records), cold and warm, in batches of 1..4099', () => {
    const files = linx.map((f) => loadRouteFile(f));
    const fib = multiFibFromLoaded(files, ['a', 'b', 'c']);
    expect(fib.memory().records).toBeGreaterThan(0);
    const prefixes: number[] = [];
    const lens: number[] = [];
    for (const x of files[0].fibs) for (let i = 0; i < x.count; i += 3) { prefixes.push(x.prefix[i] >>> 0); lens.push(x.len[i]); }
    const image = fib.imageI32;
    const hot = hotAddresses(prefixes, lens, 3000, 30_000, 3);
    let checked = 0;
    for (const batch of [1, 7, 32, 1024, 4099]) {
      for (let pass = 0; pass < 2; pass++) {
        for (const f of [0, 1, 2]) checked += expectReference(image, f, hot, batchAnswers(image, f, hot, batch), undefined);
      }
    }
    expect(cachedSlots()).toBeGreaterThan(1000);
    // The same without the cache (the walk random traffic gets).
    for (const f of [0, 1, 2]) {
      ownCache(image).skip = Number.MAX_SAFE_INTEGER;
      checked += expectReference(image, f, hot, batchAnswers(image, f, hot, 1024, false));
    }
    expect(checked).toBe((5 * 2 + 1) * 3 * hot.length);
  });

  it('full 2023 table: example-like hot traffic and uniform random addresses, against lookupImage', () => {
    const fib = multiFibFromLoaded([loadRouteFile(path.join(DATA, 'routes/bart-prefixes-2023.txt.gz'), { syntheticNextHops: 64 })]);
    const image = fib.imageI32;
    const next = rng(7);
    const random = new Int32Array(65_536);
    for (let i = 0; i < random.length; i++) random[i] = next() | 0;
    const hot = new Int32Array(65_536);
    for (let i = 0; i < hot.length; i++) hot[i] = random[next() % 50];
    for (let pass = 0; pass < 2; pass++) {
      expectReference(image, 0, hot, batchAnswers(image, 0, hot, 1024));
      expectReference(image, 0, random, batchAnswers(image, 0, random, 1024));
    }
    // Random traffic left to itself: the first batch misses, the cache sits out, answers stay exact.
    const out = new Int32Array(random.length);
    ownCache(image).skip = 0;
    lookupBatch(image, null, random.subarray(0, 1024), out, 1024);
    expect(cacheOwner.skip).toBe(SKIP_LOOKUPS);
    for (let o = 1024; o < random.length; o += 1024) lookupBatch(image, null, random.subarray(o, o + 1024), out.subarray(o, o + 1024), 1024);
    expectReference(image, 0, random, out);
  });

  it('/24s with longer routes, no route, and a /0: every address of the /24s, repeated', () => {
    const fib = new MultiFib(['x', 'y']);
    const naive = new NaiveLpm();
    const add = (f: number, a: string, len: number, nh: number): void => {
      const [p0, p1, p2, p3] = a.split('.').map(Number);
      const p = ((p0 << 24) | (p1 << 16) | (p2 << 8) | p3) >>> 0;
      fib.addRoute(f, p, len, nh);
      naive.set(f, p, len, nh);
    };
    for (let i = 0; i < 8; i++) fib.nextHops.intern({ label: `h${i}` });
    add(0, '10.0.0.0', 24, 1);
    add(0, '10.0.0.128', 25, 2);
    add(0, '10.0.0.7', 32, 3);
    add(1, '10.0.0.0', 8, 4);
    add(1, '10.0.1.0', 24, 5);
    add(0, '10.0.2.0', 26, 6);
    const addrs = new Int32Array(4 * 256 * 3);
    for (let i = 0; i < addrs.length; i++) addrs[i] = (0x0a000000 + (i % 1024)) | 0;
    for (let pass = 0; pass < 3; pass++) for (const f of [0, 1]) expectReference(fib.imageI32, f, addrs, batchAnswers(fib.imageI32, f, addrs, 1024), naive);
    // A default route changes every cached NO_ROUTE.
    add(1, '0.0.0.0', 0, 7);
    for (const f of [0, 1]) expectReference(fib.imageI32, f, addrs, batchAnswers(fib.imageI32, f, addrs, 1024), naive);
  });

  it('stays exact across route deltas on hot /24s, on the MultiFib image and on a HostImage copy', () => {
    const loaded = loadRouteFile(path.join(DATA, 'routes/mae-west.txt'));
    const fib = multiFibFromLoaded([loaded, loaded], ['a', 'b']);
    const naive = new NaiveLpm();
    const prefixes: number[] = [];
    const lens: number[] = [];
    for (const x of loaded.fibs) {
      for (let i = 0; i < x.count; i++) {
        const nh = fib.nextHops.intern(loaded.nextHops[x.hop[i]]);
        naive.set(0, x.prefix[i] >>> 0, x.len[i], nh);
        naive.set(1, x.prefix[i] >>> 0, x.len[i], nh);
        prefixes.push(x.prefix[i] >>> 0);
        lens.push(x.len[i]);
      }
    }
    const copy = new HostImage(fib.image);
    fib.onDelta((d) => copy.apply(d));
    const next = rng(21);
    const hot = hotAddresses(prefixes, lens, 40, 4096, 22);
    const i32 = (u: Uint32Array): Int32Array => new Int32Array(u.buffer, u.byteOffset, u.length);
    for (let round = 0; round < 150; round++) {
      // The image looked up last in one round is looked up first in the next: the cache holds
      // its answers from before the delta (the generation must empty it).
      const images = round % 2 === 0 ? [fib.imageI32, i32(copy.words)] : [i32(copy.words), fib.imageI32];
      for (const image of images) for (const f of [0, 1]) expectReference(image, f, hot, batchAnswers(image, f, hot, 1024), naive);
      // A route over one of the hot addresses: set or removed, in one FIB or both, /8../32.
      const a = hot[next() % hot.length] >>> 0;
      const len = 8 + (next() % 25);
      const p = (a & NaiveLpm.mask(len)) >>> 0;
      fib.beginUpdate();
      for (const f of round % 3 === 0 ? [0, 1] : [next() % 2]) {
        if (naive.has(f, p, len) && next() % 2 === 0) {
          fib.removeRoute(f, p, len);
          naive.delete(f, p, len);
        } else {
          const nh = next() % fib.nextHops.size;
          fib.replace(f, p, len, nh);
          naive.set(f, p, len, nh);
        }
      }
      fib.commitUpdate();
    }
  });

  it('the cache changes owner: two images in turn (same generation and layout), two images in one buffer', () => {
    const build = (nh: number): MultiFib => {
      const f = new MultiFib(['x']);
      for (let i = 0; i < 4; i++) f.nextHops.intern({ label: `h${i}` });
      f.addRoute(0, 0x0a000000, 8, nh);
      return f;
    };
    const a = build(1);
    const b = build(2);
    // Same generation, same layout, different answers.
    expect(a.generation).toBe(b.generation);
    const addrs = new Int32Array(2048).fill(0x0a010203);
    for (let r = 0; r < 3; r++) {
      expect(batchAnswers(a.imageI32, 0, addrs, 1024)[0]).toBe(1);
      expect(batchAnswers(b.imageI32, 0, addrs, 1024)[0]).toBe(2);
    }
    const [na, nb] = [a.image.length, b.image.length];
    const shared = new Int32Array(na + nb);
    shared.set(a.imageI32, 0);
    shared.set(b.imageI32, na);
    const va = shared.subarray(0, na);
    const vb = shared.subarray(na, na + nb);
    for (let r = 0; r < 3; r++) {
      expect(batchAnswers(va, 0, addrs, 1024)[0]).toBe(1);
      expect(batchAnswers(vb, 0, addrs, 1024)[0]).toBe(2);
    }
  });
});
