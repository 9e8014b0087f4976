/**
 * IPLookup's inline path per batch: kernel_stats times one batch in TIMING_SAMPLE_EVERY and
 * still counts every batch and item; a batch object reused (its nextHop column left from its
 * last use, not zeroed) gets every next hop right; with several outputs every packet leaves on
 * its route's port, over many reused batches (split outputs are selection views over the batch).
 */
import { describe, expect, it } from 'vitest';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { PacketBatch } from '../../core/packet-batch.js';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { KernelStats } from '../../core/kernel-stats.js';
import { SampledKernelTiming, TIMING_SAMPLE_EVERY } from '../../core/element-helpers/sampled-kernel-timing.js';
import type { IPLookup } from '../../elements/ip-lookup.js';
import { rng } from '../kernels/fixtures.js';

const log = { info: () => undefined, warn: () => undefined };
const ROUTES = '10.0.0.0/8 0, 10.1.0.0/16 1, 192.168.0.0/16 1, 0.0.0.0/0 2';

/** The routes above, by hand: the output of `a`. */
function expectedPort(a: number): number {
  if (a >>> 16 === 0x0a01 || a >>> 16 === 0xc0a8) return 1;
  if (a >>> 24 === 10) return 0;
  return 2;
}

/** Addresses that hit every route, some in long runs to one port (the split's fast path too). */
function addresses(n: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / 7) % 5;
    const low = r() & 0xffff;
    out.push(k === 0 ? (0x0a010000 | low) >>> 0 : k === 1 ? (0x0a200000 | low) >>> 0 : k === 2 ? (0xc0a80000 | low) >>> 0 : r() >>> 0);
  }
  return out;
}

/** Refill `b` (a batch object in its next use) with `addrs`, as a recycling source does. */
function refill(b: PacketBatch, seq: number, addrs: readonly number[], firstId: number): void {
  b.recycle(seq, b.data, 101);
  const dst = b.anno('dst');
  for (let i = 0; i < addrs.length; i++) {
    b.id[i] = firstId + i;
    b.offset[i] = 0;
    b.length[i] = 20;
    dst[i] = addrs[i] | 0;
  }
  b.count = addrs.length;
}

describe('SampledKernelTiming', () => {
  it('times the first batch and then one in every, or each one when asked', () => {
    const t = new SampledKernelTiming(4);
    const timed = Array.from({ length: 10 }, () => t.begin(false) >= 0);
    expect(timed).toEqual([true, false, false, false, true, false, false, false, true, false]);
    expect(t.begin(true)).toBeGreaterThanOrEqual(0);
    expect(t.begin(true)).toBeGreaterThanOrEqual(0);
    expect(() => new SampledKernelTiming(0)).toThrow(/every must be an integer >= 1/);
  });

  it('counts every batch and item exactly and estimates untimed host time at the timed mean per item', () => {
    const entry = new KernelStats().entry('ip-lookup', 'cpu');
    const t = new SampledKernelTiming(3);
    const t0 = t.begin(false);
    let spin = 0;
    const until = performance.now() + 2;
    while (performance.now() < until) spin++;
    const ms = t.end(entry, 10, t0);
    expect(spin).toBeGreaterThan(0);
    expect(ms).toBeGreaterThanOrEqual(2);
    expect(entry.hostMs).toBe(ms);
    // Untimed: 20 items at the timed 10 items' mean.
    expect(t.end(entry, 20, t.begin(false))).toBe(-1);
    expect(entry.hostMs).toBeCloseTo(3 * ms, 9);
    expect(t.end(entry, 5, t.begin(false))).toBe(-1);
    expect(entry.batches).toBe(3);
    expect(entry.items).toBe(35);
    expect(entry.hostMs).toBeCloseTo(3.5 * ms, 9);
  });
});

describe('IPLookup inline path over many batches', () => {
  it('reports every batch and item in kernel_stats, and right next hops in reused batches', async () => {
    const r = Router.fromText(`Idle -> rt :: IPLookup(${ROUTES}) -> Discard;`, 'c.click', elementLibrary, { log });
    await r.initialize();
    const rt = r.graph.byName.get('rt')!.element as IPLookup;
    const batches = 3 * TIMING_SAMPLE_EVERY + 5;
    const b = new PacketBatch({ seq: 0, capacity: 64, data: new Uint8Array(64) });
    let items = 0;
    for (let s = 0; s < batches; s++) {
      const addrs = addresses(1 + ((s * 13) % 64), s + 1);
      refill(b, s, addrs, items);
      items += addrs.length;
      const [out] = await rt.process(b);
      expect(out).toBe(b);
      const nh = out!.anno('nextHop');
      for (let i = 0; i < addrs.length; i++) expect(nh[i]).toBe(lookupImage(rt.image, 0, addrs[i]));
    }
    const stats = await r.handler('rt.kernel_stats').read!();
    const m = /^ip-lookup cpu batches (\d+) items (\d+) host_ms ([0-9.]+)\n$/.exec(stats);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(batches);
    expect(Number(m![2])).toBe(items);
    expect(Number(m![3])).toBeGreaterThan(0);
    await r.cleanup();
  });

  it('sends every packet to its route output, in order, over reused batches', async () => {
    const r = Router.fromText(`Idle -> rt :: IPLookup(${ROUTES}); rt[0] -> Discard; rt[1] -> Discard; rt[2] -> Discard;`, 'c.click', elementLibrary, { log });
    await r.initialize();
    const rt = r.graph.byName.get('rt')!.element as IPLookup;
    const b = new PacketBatch({ seq: 0, capacity: 64, data: new Uint8Array(64) });
    let firstId = 0;
    for (let s = 0; s < 40; s++) {
      const addrs = s % 9 === 0 ? Array.from({ length: 30 }, () => 0x0a000001) : addresses(1 + ((s * 29) % 64), 100 + s);
      refill(b, s, addrs, firstId);
      const outs = (await rt.process(b)) as (PacketBatch | null)[];
      const want: number[][] = [[], [], []];
      addrs.forEach((a, i) => want[expectedPort(a)].push(firstId + i));
      for (let p = 0; p < 3; p++) {
        const o = outs[p];
        const got = o === null || o === undefined ? [] : Array.from(o.id.subarray(0, o.count));
        expect(got).toEqual(want[p]);
        if (o !== null && o !== undefined) {
          const dst = o.anno('dst');
          for (let j = 0; j < o.count; j++) expect(dst[j] >>> 0).toBe(addrs[o.id[j] - firstId]);
        }
      }
      firstId += addrs.length;
    }
    await r.cleanup();
  });
});
