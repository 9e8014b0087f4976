/**
 * Layout 2 as the builder writes it (image-format.ts is the contract): narrow or wide nodes,
 * odd run counts, exact allocation in the bulk build and reuse of its blocks by commits.
 * Every case is also checked against the naive LPM through both lookup forms.
 */
import { describe, expect, it } from 'vitest';
import { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import {
  HEADER_WORDS, H_L0, L0_ENTRIES, NARROW_NO_ROUTE, NODE_HEADER_WORDS, NO_ROUTE, TAG_LEAF, TAG_NARROW_NODE, TAG_NODE, TAG_RECORD, VALUE_MASK,
} from '../../core/structures/multi-fib/image-format.js';
import { NaiveLpm, rng, sampleAddresses } from './naive-lpm.js';
import { checkAgainstNaive } from './check.js';
import { nodeWords, runCount, slotEntry } from './node-slots.js';

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);

/** The L0 entry of the /16 holding `address`. */
function l0Entry(f: MultiFib, address: number): number {
  const image = f.image;
  return image[image[H_L0] + (address >>> 16)];
}

/** One FIB with `routes`, mirrored in a naive LPM; both lookup forms checked around every route. */
function built(routes: [string, number, number][], fibNames = ['a']): { f: MultiFib; naive: NaiveLpm } {
  const f = new MultiFib(fibNames);
  const naive = new NaiveLpm();
  f.beginUpdate();
  for (const [p, len, nh] of routes) {
    f.addRoute(0, ip(p), len, nh);
    naive.set(0, ip(p), len, nh);
  }
  f.commitUpdate();
  return { f, naive };
}

function check(f: MultiFib, naive: NaiveLpm, routes: [string, number, number][]): void {
  const addrs = sampleAddresses(routes.map((r) => ip(r[0])), routes.map((r) => r[1]), 2000, rng(3));
  checkAgainstNaive(f, naive, [0], addrs);
}

describe('multi-FIB layout 2: node widths', () => {
  it('a node whose runs are all leaves below 0xffff is narrow, NO_ROUTE runs included', () => {
    // 10.1/16: runs NO_ROUTE, 7, NO_ROUTE, 0xfffe, NO_ROUTE (no covering route).
    const routes: [string, number, number][] = [['10.1.16.0', 20, 7], ['10.1.128.0', 24, 0xfffe]];
    const { f, naive } = built(routes);
    const e = l0Entry(f, ip('10.1.0.0'));
    expect(e >>> 30).toBe(TAG_NARROW_NODE);
    const image = f.image;
    expect(runCount(image, e)).toBe(5);
    const node = e & VALUE_MASK;
    // Run entries as 16-bit halves: NO_ROUTE is 0xffff there.
    expect(Array.from(image.subarray(node + NODE_HEADER_WORDS, node + nodeWords(image, e)))).toEqual([
      (NARROW_NO_ROUTE | (7 << 16)) >>> 0, (NARROW_NO_ROUTE | (0xfffe << 16)) >>> 0, NARROW_NO_ROUTE,
    ]);
    expect(slotEntry(image, e, 0)).toBe(NO_ROUTE);
    expect(slotEntry(image, e, 0x10)).toBe(7);
    expect(slotEntry(image, e, 0x80)).toBe(0xfffe);
    expect(slotEntry(image, e, 0xff)).toBe(NO_ROUTE);
    check(f, naive, routes);
  });

  it('a next hop of 0xffff or more makes the node wide (0xffff would read as NO_ROUTE in a half)', () => {
    for (const big of [0xffff, 0x10000, 0x123456]) {
      const routes: [string, number, number][] = [['10.1.16.0', 20, 7], ['10.1.128.0', 24, big]];
      const { f, naive } = built(routes);
      const e = l0Entry(f, ip('10.1.0.0'));
      expect(e >>> 30).toBe(TAG_NODE);
      expect(nodeWords(f.image, e)).toBe(NODE_HEADER_WORDS + 5);
      expect(slotEntry(f.image, e, 0x80)).toBe(big);
      check(f, naive, routes);
    }
  });

  it('a level-1 node holding a level-2 node or a record is wide; the level-2 node under it is narrow', () => {
    const routes: [string, number, number][] = [['10.2.0.0', 16, 1], ['10.2.3.0', 24, 2], ['10.2.3.128', 25, 3]];
    const { f, naive } = built(routes);
    const e = l0Entry(f, ip('10.2.0.0'));
    expect(e >>> 30).toBe(TAG_NODE);
    const child = slotEntry(f.image, e, 3);
    expect(child >>> 30).toBe(TAG_NARROW_NODE);
    expect([slotEntry(f.image, child, 0), slotEntry(f.image, child, 128)]).toEqual([2, 3]);
    check(f, naive, routes);

    // Two FIBs that differ at one /24: a record there, so the level-1 node is wide.
    const two = new MultiFib(['a', 'b']);
    const naive2 = new NaiveLpm();
    for (const fib of [0, 1]) {
      two.addRoute(fib, ip('10.3.0.0'), 16, 1);
      naive2.set(fib, ip('10.3.0.0'), 16, 1);
    }
    two.addRoute(1, ip('10.3.7.0'), 24, 9);
    naive2.set(1, ip('10.3.7.0'), 24, 9);
    const r = l0Entry(two, ip('10.3.0.0'));
    expect(r >>> 30).toBe(TAG_NODE);
    expect(slotEntry(two.image, r, 7) >>> 30).toBe(TAG_RECORD);
    const addrs = sampleAddresses([ip('10.3.0.0'), ip('10.3.7.0')], [16, 24], 2000, rng(4));
    checkAgainstNaive(two, naive2, [0, 1], addrs);
  });

  it('odd and even run counts: an odd count leaves the last upper half 0; 2 runs is the smallest node', () => {
    for (let runs = 2; runs <= 9; runs++) {
      // runs - 1 /24s with distinct next hops at the start of 10.4/16, then the /16's own answer.
      const routes: [string, number, number][] = [['10.4.0.0', 16, 100]];
      for (let i = 0; i < runs - 1; i++) routes.push([`10.4.${i}.0`, 24, 200 + i]);
      const { f, naive } = built(routes);
      const e = l0Entry(f, ip('10.4.0.0'));
      expect(e >>> 30).toBe(TAG_NARROW_NODE);
      expect(runCount(f.image, e)).toBe(runs);
      expect(nodeWords(f.image, e)).toBe(NODE_HEADER_WORDS + ((runs + 1) >> 1));
      const last = f.image[(e & VALUE_MASK) + nodeWords(f.image, e) - 1];
      if (runs % 2 === 1) expect(last >>> 16).toBe(0);
      expect(last & 0xffff).toBe(runs % 2 === 1 ? 100 : 200 + runs - 2);
      check(f, naive, routes);
    }
  });

  it('identical narrow nodes are stored once; a wide node with the same runs is another node', () => {
    const routes: [string, number, number][] = [];
    for (const x of [5, 6, 7]) routes.push([`10.${x}.16.0`, 20, 7], [`10.${x}.128.0`, 24, 8]);
    routes.push(['10.9.16.0', 20, 7], ['10.9.128.0', 24, 0x20000]);
    const { f, naive } = built(routes);
    const [a, b, c, w] = ['10.5.0.0', '10.6.0.0', '10.7.0.0', '10.9.0.0'].map((s) => l0Entry(f, ip(s)));
    expect(a >>> 30).toBe(TAG_NARROW_NODE);
    expect([b, c]).toEqual([a, a]);
    expect(w >>> 30).toBe(TAG_NODE);
    expect(f.memory().nodes).toBe(2);
    check(f, naive, routes);
  });
});

describe('multi-FIB layout 2: the one-FIB build path', () => {
  it('builds the very nodes the general path builds', () => {
    const next = rng(21);
    const routes: [number, number, number][] = [];
    for (let i = 0; i < 4000; i++) {
      const len = [8, 12, 16, 18, 20, 22, 24, 24, 24, 25, 26, 28, 30, 32][next() % 14];
      const p = ((((10 + (next() % 4)) << 24) | (next() & 0xffffff)) & NaiveLpm.mask(len)) >>> 0;
      routes.push([p, len, next() % 40]);
    }
    const cols = { count: routes.length, prefix: Int32Array.from(routes, (r) => r[0] | 0), len: Uint8Array.from(routes, (r) => r[1]), nh: Int32Array.from(routes, (r) => r[2]) };
    // Two identical FIBs: the general path (answer vectors, no records since they agree).
    const f = new MultiFib(['a', 'b'], [cols, { ...cols, prefix: cols.prefix.slice(), nh: cols.nh.slice() }]);
    const l0Before = f.image.slice(f.image[H_L0], f.image[H_L0] + L0_ENTRIES);
    const nodes = f.memory().nodes;
    // Deleting FIB b leaves one: every /16 is rebuilt by the one-FIB path, and hash-consing
    // finds each node it builds among the general path's (same entries, same offsets).
    f.deleteFib(1);
    expect(f.fibCount).toBe(1);
    const l0After = f.image.slice(f.image[H_L0], f.image[H_L0] + L0_ENTRIES);
    let differ = 0;
    for (let x = 0; x < L0_ENTRIES; x++) if (l0After[x] !== l0Before[x]) differ++;
    expect(differ).toBe(0);
    expect(f.memory().nodes).toBe(nodes);
    const naive = new NaiveLpm();
    for (const [p, len, nh] of routes) naive.set(0, p, len, nh);
    checkAgainstNaive(f, naive, [0], sampleAddresses(routes.map((r) => r[0]), routes.map((r) => r[1]), 20_000, rng(6)));
  });
});

describe('multi-FIB layout 2: allocation', () => {
  /** A bulk-built structure (exact allocation) from one FIB's routes. */
  function bulk(routes: [string, number, number][]): MultiFib {
    return new MultiFib(['a'], [{
      count: routes.length,
      prefix: Int32Array.from(routes, (r) => ip(r[0]) | 0),
      len: Uint8Array.from(routes, (r) => r[1]),
      nh: Int32Array.from(routes, (r) => r[2]),
    }]);
  }

  it('the bulk build packs blocks at their exact sizes: no gap after the header and L0', () => {
    const routes: [string, number, number][] = [];
    const next = rng(8);
    for (let i = 0; i < 3000; i++) {
      const len = 16 + (next() % 17);
      routes.push([`${10 + (next() % 3)}.${next() % 256}.${next() % 256}.${next() % 256}`, len, next() % 300]);
    }
    const f = bulk(routes);
    const m = f.memory();
    const image = f.image;
    // Every node's words, counted from the image itself.
    let words = 0;
    const seen = new Set<number>();
    const visit = (e: number): void => {
      const tag = e >>> 30;
      if (tag === TAG_LEAF || seen.has(e)) return;
      seen.add(e);
      if (tag === TAG_RECORD) throw new Error('no records in one FIB');
      words += nodeWords(image, e);
      if (tag === TAG_NODE) for (let s = 0; s < 256; s++) visit(slotEntry(image, e, s));
    };
    for (let x = 0; x < L0_ENTRIES; x++) visit(image[image[H_L0] + x]);
    expect(seen.size).toBe(m.nodes);
    expect(m.words).toBe(HEADER_WORDS + L0_ENTRIES + words);
    expect(m.freeWords).toBe(0);
  });

  it('a block freed from the exact bulk build is reused by a later commit', () => {
    // 10.1/16's node: 5 runs, narrow, 10 + 3 = 13 words exactly (no class rounding).
    const f = bulk([['10.1.16.0', 20, 7], ['10.1.128.0', 24, 9], ['10.2.0.0', 16, 1]]);
    const e = l0Entry(f, ip('10.1.0.0'));
    expect(nodeWords(f.image, e)).toBe(13);
    const used = f.memory().words;
    // Removing both routes frees it (reusable from the commit after: the reuse rule).
    f.beginUpdate();
    f.removeRoute(0, ip('10.1.16.0'), 20);
    f.removeRoute(0, ip('10.1.128.0'), 24);
    f.commitUpdate();
    expect(l0Entry(f, ip('10.1.0.0'))).toBe(NO_ROUTE);
    // A 3-run narrow node (12 words, class 12) fits the 13-word block, filed under class 12.
    f.beginUpdate();
    f.addRoute(0, ip('10.1.32.0'), 20, 4);
    f.commitUpdate();
    const again = l0Entry(f, ip('10.1.0.0'));
    expect(again >>> 30).toBe(TAG_NARROW_NODE);
    expect(nodeWords(f.image, again)).toBe(12);
    expect(again & VALUE_MASK).toBe(e & VALUE_MASK);
    expect(f.memory().words).toBe(used);
    const naive = new NaiveLpm();
    naive.set(0, ip('10.1.32.0'), 20, 4);
    naive.set(0, ip('10.2.0.0'), 16, 1);
    checkAgainstNaive(f, naive, [0], sampleAddresses([ip('10.1.32.0'), ip('10.2.0.0')], [20, 16], 2000, rng(5)));
  });
});
