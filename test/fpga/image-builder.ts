/**
 * A small multi-FIB image builder for the fpga tests, written from image-format.ts alone (the
 * project's MultiFib builder is another engineer's; this one keeps the tests independent of it).
 * Layout 2: leaf-pushed 16-8-8, run-compressed nodes (10-word header: 8 bitmaps, 2 words of
 * packed byte run counts), narrow nodes (16-bit run entries) exactly when every entry is a leaf
 * below 0xffff or NO_ROUTE, per-FIB records, nodes and records hash-consed.
 * `origin` places the L0 table and everything after it at a word offset, which is how the tests
 * build a second version beside a live one and publish it with a header write (the root flip).
 */
import {
  HEADER_WORDS,
  H_FAMILY,
  H_FIB_COUNT,
  H_GENERATION,
  H_L0,
  H_MAGIC,
  H_USED_WORDS,
  H_VERSION,
  L0_ENTRIES,
  LAYOUT_VERSION,
  MAGIC,
  NARROW_NO_ROUTE,
  NO_ROUTE,
  NODE_COUNT_WORD,
  NODE_HEADER_WORDS,
  TAG_LEAF,
  TAG_NODE,
  leafEntry,
  narrowNodeEntry,
  nodeEntry,
  popcount32,
  recordEntry,
} from '../../core/structures/multi-fib/image-format.js';

export interface Route {
  /** Network address, u32. */
  addr: number;
  len: number;
  nextHop: number;
}

/** Per FIB: best answer per /16, per /24 where a /17../24 exists, per address where a /25../32 exists. */
class Painted {
  readonly l16 = new Int32Array(L0_ENTRIES).fill(NO_ROUTE);
  readonly l24 = new Map<number, Int32Array>();
  readonly l32 = new Map<number, Int32Array>();

  constructor(routes: readonly Route[]) {
    const sorted = [...routes].sort((a, b) => a.len - b.len);
    for (const r of sorted) {
      const a = r.addr >>> 0;
      const net = r.len === 0 ? 0 : (a & (0xffffffff << (32 - r.len))) >>> 0;
      if (r.len <= 16) {
        const first = net >>> 16;
        const n = 1 << (16 - r.len);
        this.l16.fill(r.nextHop, first, first + n);
      } else if (r.len <= 24) {
        const hi = net >>> 16;
        let arr = this.l24.get(hi);
        if (arr === undefined) {
          arr = new Int32Array(256).fill(this.l16[hi]);
          this.l24.set(hi, arr);
        }
        const first = (net >>> 8) & 255;
        arr.fill(r.nextHop, first, first + (1 << (24 - r.len)));
      } else {
        const mid = net >>> 8;
        let arr = this.l32.get(mid);
        if (arr === undefined) {
          arr = new Int32Array(256).fill(this.at24(mid));
          this.l32.set(mid, arr);
        }
        const first = net & 255;
        arr.fill(r.nextHop, first, first + (1 << (32 - r.len)));
      }
    }
  }

  at24(mid: number): number {
    const a = this.l24.get(mid >>> 8);
    return a === undefined ? this.l16[mid >>> 8] : a[mid & 255];
  }
}

export interface BuiltImage {
  image: Uint32Array;
  /** Where L0 starts (the header's H_L0 word). */
  l0: number;
}

/**
 * Builds the image of `fibs` (one route list per FIB). With `origin` > 0 the words below it are
 * left zero (the caller overlays them with a live image) and L0 starts at `origin`.
 */
export function buildImage(fibs: readonly (readonly Route[])[], options: { origin?: number; generation?: number } = {}): BuiltImage {
  const origin = options.origin ?? HEADER_WORDS;
  const painted = fibs.map((r) => new Painted(r));
  const words: number[] = [];
  const base = origin + L0_ENTRIES;
  const records = new Map<string, number>();
  const nodes = new Map<string, number>();

  const leafOf = (values: number[]): number => {
    const first = values[0];
    if (values.every((v) => v === first)) return leafEntry(first);
    // Default: the most common answer, so the record lists fewest FIBs.
    const counts = new Map<number, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    let def = first;
    for (const [v, c] of counts) if (c > (counts.get(def) ?? 0)) def = v;
    const rec = [leafEntry(def), 0];
    for (let f = 0; f < values.length; f++) if (values[f] !== def) rec.push(f, leafEntry(values[f]));
    rec[1] = (rec.length - 2) / 2;
    const key = rec.join(',');
    let off = records.get(key);
    if (off === undefined) {
      off = base + words.length;
      words.push(...rec);
      records.set(key, off);
    }
    return recordEntry(off);
  };

  const nodeOf = (entries: number[]): number => {
    const key = entries.join(',');
    let entry = nodes.get(key);
    if (entry !== undefined) return entry;
    const bitmaps = new Array<number>(8).fill(0);
    const runs: number[] = [];
    for (let s = 0; s < 256; s++) {
      if (s === 0 || entries[s] !== entries[s - 1]) {
        bitmaps[s >>> 5] = (bitmaps[s >>> 5] | (1 << (s & 31))) >>> 0;
        runs.push(entries[s]);
      }
    }
    // Count bytes: runs starting in chunks 0..w-1, byte (w & 3) of word 8 + (w >>> 2).
    const counts = [0, 0];
    let before = 0;
    for (let w = 0; w < 8; w++) {
      counts[w >>> 2] = (counts[w >>> 2] | (before << ((w & 3) << 3))) >>> 0;
      before += popcount32(bitmaps[w]);
    }
    // A node has at least two runs: one run of a leaf or record is that entry itself.
    if (runs.length === 1 && runs[0] >>> 30 < TAG_NODE) return runs[0];
    const head = [...bitmaps, ...counts];
    if (head.length !== NODE_HEADER_WORDS || head.length !== NODE_COUNT_WORD + 2) throw new Error('node header size');
    const narrow = runs.every((e) => e >>> 30 === TAG_LEAF && (e === NO_ROUTE || e < NARROW_NO_ROUTE));
    const off = base + words.length;
    if (narrow) {
      const halves = runs.map((e) => (e === NO_ROUTE ? NARROW_NO_ROUTE : e));
      // An odd run count leaves the last half 0.
      for (let k = 0; k < halves.length; k += 2) head.push((halves[k] | ((halves[k + 1] ?? 0) << 16)) >>> 0);
      words.push(...head);
      entry = narrowNodeEntry(off);
    } else {
      words.push(...head, ...runs);
      entry = nodeEntry(off);
    }
    nodes.set(key, entry);
    return entry;
  };

  const l0 = new Uint32Array(L0_ENTRIES);
  for (let hi = 0; hi < L0_ENTRIES; hi++) {
    const deep = painted.some((p) => p.l24.has(hi));
    if (!deep) {
      l0[hi] = leafOf(painted.map((p) => p.l16[hi]));
      continue;
    }
    const slots: number[] = [];
    for (let s = 0; s < 256; s++) {
      const mid = (hi << 8) | s;
      if (painted.some((p) => p.l32.has(mid))) {
        const leaves: number[] = [];
        for (let t = 0; t < 256; t++) leaves.push(leafOf(painted.map((p) => p.l32.get(mid)?.[t] ?? p.at24(mid))));
        slots.push(nodeOf(leaves));
      } else {
        slots.push(leafOf(painted.map((p) => p.at24(mid))));
      }
    }
    l0[hi] = nodeOf(slots);
  }

  const image = new Uint32Array(base + words.length);
  image.set(l0, origin);
  image.set(words, base);
  image[H_MAGIC] = MAGIC;
  image[H_VERSION] = LAYOUT_VERSION;
  image[H_FAMILY] = 4;
  image[H_FIB_COUNT] = fibs.length;
  image[H_L0] = origin;
  image[H_GENERATION] = options.generation ?? 1;
  image[H_USED_WORDS] = image.length;
  return { image, l0: origin };
}

/** Parses `a.b.c.d/len [nexthop]` lines; next hops are numbered in order of first appearance. */
export function parseRoutes(text: string, hops = new Map<string, number>()): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [pfx, nh] = t.split(/\s+/);
    const [ip, lenText] = pfx.split('/');
    if (ip.includes(':')) continue;
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) continue;
    const addr = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
    const len = Number(lenText);
    let hop: number;
    if (nh !== undefined) {
      hop = hops.get(nh) ?? hops.size;
      hops.set(nh, hop);
    } else {
      hop = out.length % 4096;
    }
    out.push({ addr, len, nextHop: hop });
  }
  return out;
}

/** Addresses worth asking about: half inside the given routes (random host bits), half uniform. */
export function sampleAddresses(routes: readonly Route[], n: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0 && routes.length > 0) {
      const r = routes[rnd() % routes.length];
      const host = r.len === 32 ? 0 : rnd() & (0xffffffff >>> r.len);
      out[i] = (r.addr | host) | 0;
    } else {
      out[i] = rnd() | 0;
    }
  }
  return out;
}

/**
 * `live` with one node appended and reached from L0 entry 0x0a0b: two runs (slot 0, slots
 * 1..255) whose entries are `nodeEntry(n)` and `second(n)`, n being the node's own offset, so
 * the walk finds a node entry again at every level (a malformed image: an endless walk for an
 * unbounded loop, a third node level for the pipeline).
 */
export function withSelfLoopNode(live: Uint32Array, second: (node: number) => number): Uint32Array {
  const n = live.length;
  const img = new Uint32Array(n + NODE_HEADER_WORDS + 2);
  img.set(live);
  img[n] = 0b11;
  img[n + NODE_COUNT_WORD] = 0x02020200;
  img[n + NODE_COUNT_WORD + 1] = 0x02020202;
  img[n + NODE_HEADER_WORDS] = nodeEntry(n);
  img[n + NODE_HEADER_WORDS + 1] = second(n);
  img[H_USED_WORDS] = img.length;
  img[img[H_L0] + 0x0a0b] = nodeEntry(n);
  return img;
}
