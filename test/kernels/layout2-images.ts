/**
 * Layout-2 multi-FIB images for testing every device form of kernel `ip-lookup` without the
 * project's MultiFib builder: test/fpga/image-builder.ts (written from image-format.ts alone)
 * over real routes (a spread of the 2023 table, LINX snapshots) and generated edge cases, and
 * a census of what each image holds, so a test can show its fixtures cover what they claim:
 * narrow and wide nodes at both levels, NO_ROUTE halves, odd run counts, full nodes (256 runs),
 * next hops >= 0xffff forcing wide nodes, records in nodes.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  H_L0,
  L0_ENTRIES,
  NARROW_NO_ROUTE,
  NODE_COUNT_WORD,
  NODE_HEADER_WORDS,
  TAG_NARROW_NODE,
  TAG_NODE,
  TAG_RECORD,
  VALUE_MASK,
  popcount32,
} from '../../core/structures/multi-fib/image-format.js';
import { buildImage, parseRoutes, sampleAddresses, type Route } from '../fpga/image-builder.js';
import { DATA } from './fixtures.js';

export interface Layout2Table {
  name: string;
  fibs: Route[][];
  image: Uint32Array;
}

function routesOf(file: string): Route[] {
  const raw = fs.readFileSync(path.join(DATA, 'routes', file));
  return parseRoutes((file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8'));
}

/** Every `step`-th route: a spread over the whole address space, not its first corner. */
function spread(routes: readonly Route[], step: number): Route[] {
  return routes.filter((_r, i) => i % step === 0);
}

const ip = (s: string): number => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);

/**
 * Hand-made FIB whose /16s each hold one node shape (comments name it). No default route, so
 * uncovered slots are NO_ROUTE.
 */
export function edgeCaseRoutes(): Route[] {
  const r: Route[] = [];
  const add = (a: string, len: number, nextHop: number): void => {
    r.push({ addr: ip(a), len, nextHop });
  };
  // 10.0/16: narrow level-1 node, runs NO_ROUTE, 5, NO_ROUTE (odd count, NO_ROUTE halves).
  add('10.0.7.0', 24, 5);
  // 10.1/16: 256 runs alternating next hops 0 and 7 (count bytes up to 224, half 0 = next hop 0).
  for (let s = 0; s < 256; s++) add(`10.1.${s}.0`, 24, s % 2 === 0 ? 0 : 7);
  // 10.2/16: 254 alternating runs then NO_ROUTE over slots 254-255: 255 runs, odd, the last half read.
  for (let s = 0; s < 254; s++) add(`10.2.${s}.0`, 24, 100 + (s % 2));
  // 10.3/16: next hop 0xffff cannot be a half (it means NO_ROUTE there): a wide leaf-only node.
  add('10.3.1.0', 24, 0xffff);
  // 10.4/16: 0xfffe, the largest next hop a half carries: narrow.
  add('10.4.1.0', 24, 0xfffe);
  add('10.4.255.0', 24, 3);
  // 10.5/16: next hops past 16 bits: wide.
  add('10.5.0.0', 17, 0x10000);
  add('10.5.200.0', 24, 1_000_000);
  // 10.6/16: /32s at a level-2 node's first and last slots (chunk 0, chunk 7 = count word 9 byte 3),
  // under a wide level-1 node (it holds node entries); narrow level-2 nodes.
  add('10.6.0.0', 32, 11);
  add('10.6.0.255', 32, 12);
  add('10.6.255.255', 32, 13);
  add('10.6.255.0', 25, 14);
  add('10.6.128.0', 24, 15);
  // 10.7/16: a level-2 node forced wide by next hop 0xffff, beside a narrow one.
  add('10.7.1.1', 32, 0xffff);
  add('10.7.2.2', 32, 21);
  // 10.8/16: a /20 and nested /22, /24, /28, /30 within: a level-1 node and one level-2 node.
  add('10.8.0.0', 20, 30);
  add('10.8.4.0', 22, 31);
  add('10.8.5.0', 24, 32);
  add('10.8.5.16', 28, 33);
  add('10.8.5.20', 30, 34);
  // Short prefixes around them (L0 leaves, one L0 entry per /16 of a /8).
  add('11.0.0.0', 8, 40);
  add('255.255.255.255', 32, 41);
  add('0.0.0.0', 32, 42);
  return r;
}

/** The edge-case FIB changed in a few places: records in L0 entries and in nodes of both levels. */
export function edgeCaseVariant(): Route[] {
  return [
    ...edgeCaseRoutes(),
    { addr: ip('10.0.9.0'), len: 24, nextHop: 6 },
    { addr: ip('10.6.0.0'), len: 32, nextHop: 99 },
    { addr: ip('10.8.5.17'), len: 32, nextHop: 98 },
    { addr: ip('12.0.0.0'), len: 8, nextHop: 97 },
  ];
}

export function layout2Tables(): Layout2Table[] {
  const linx = ['20170101.0000', '20170109.1600', '20170112.0800'].map((d) => spread(routesOf(`preprocessed-ipv4.rib.${d}.txt`), 30));
  const t2023 = spread(routesOf('bart-prefixes-2023.txt.gz'), 250);
  const tables: [string, Route[][]][] = [
    ['edge cases (1 FIB)', [edgeCaseRoutes()]],
    ['edge cases and a variant (2 FIBs: records in nodes)', [edgeCaseRoutes(), edgeCaseVariant()]],
    [`LINX x3 snapshots, every 30th route (${linx.map((f) => f.length).join('/')} routes)`, linx],
    [`2023 table, every 250th route (${t2023.length} routes)`, [t2023]],
  ];
  return tables.map(([name, fibs]) => ({ name, fibs, image: buildImage(fibs).image }));
}

export interface ImageCensus {
  wideNodes: number;
  narrowNodes: number;
  /** Level-2 nodes (reached from a level-1 node), of each kind. */
  wideLevel2: number;
  narrowLevel2: number;
  /** Narrow nodes with an odd run count (their last word's half 1 is padding). */
  narrowOddRuns: number;
  /** Narrow nodes holding a NO_ROUTE half. */
  narrowNoRoute: number;
  /** Wide nodes whose entries are all leaves (wide because a next hop is >= 0xffff). */
  wideLeafOnly: number;
  /** Nodes whose runs start in chunk 7 with more than 200 runs before it (count bytes near their limit). */
  fullNodes: number;
  /** Record entries in nodes and in L0. */
  recordsInNodes: number;
  recordsInL0: number;
}

/** Counts the node and entry kinds of `image`, walking it per image-format.ts (distinct node visits). */
export function imageCensus(image: Uint32Array): ImageCensus {
  const c: ImageCensus = { wideNodes: 0, narrowNodes: 0, wideLevel2: 0, narrowLevel2: 0, narrowOddRuns: 0, narrowNoRoute: 0, wideLeafOnly: 0, fullNodes: 0, recordsInNodes: 0, recordsInL0: 0 };
  const seen = new Set<number>();
  const visit = (e: number, level: number): void => {
    const tag = e >>> 30;
    if (tag < TAG_NODE) return;
    const node = e & VALUE_MASK;
    if (seen.has(node)) return;
    seen.add(node);
    let runs = 0;
    for (let w = 0; w < 8; w++) runs += popcount32(image[node + w]);
    const before7 = image[node + NODE_COUNT_WORD + 1] >>> 24;
    if (before7 > 200) c.fullNodes++;
    if (tag === TAG_NARROW_NODE) {
      c.narrowNodes++;
      if (level === 2) c.narrowLevel2++;
      if (runs % 2 === 1) c.narrowOddRuns++;
      for (let k = 0; k < runs; k++) if (((image[node + NODE_HEADER_WORDS + (k >>> 1)] >>> ((k & 1) << 4)) & 0xffff) === NARROW_NO_ROUTE) c.narrowNoRoute++;
      return;
    }
    c.wideNodes++;
    if (level === 2) c.wideLevel2++;
    let leafOnly = true;
    for (let k = 0; k < runs; k++) {
      const child = image[node + NODE_HEADER_WORDS + k] >>> 0;
      if (child >>> 30 !== 0) leafOnly = false;
      if (child >>> 30 === TAG_RECORD) c.recordsInNodes++;
      visit(child, level + 1);
    }
    if (leafOnly) c.wideLeafOnly++;
  };
  const l0 = image[H_L0];
  for (let i = 0; i < L0_ENTRIES; i++) {
    const e = image[l0 + i] >>> 0;
    if (e >>> 30 === TAG_RECORD) c.recordsInL0++;
    visit(e, 1);
  }
  return c;
}

/** Each route's first and last address and their outside neighbours: where off-by-ones live. */
function boundaries(routes: readonly Route[]): number[] {
  const out: number[] = [];
  for (const r of routes) {
    const first = r.len === 0 ? 0 : (r.addr & (0xffffffff << (32 - r.len))) >>> 0;
    const last = (first | (r.len === 0 ? 0xffffffff : ~(0xffffffff << (32 - r.len)))) >>> 0;
    out.push(first | 0, last | 0, (first - 1) | 0, (last + 1) | 0);
  }
  return out;
}

/**
 * `n` lookups into `t`: route boundaries first (as many as fit), then addresses inside the routes
 * and uniform ones; FIB numbers cycle through -1, every FIB and one past the last.
 */
export function layout2Inputs(t: Layout2Table, n: number, seed: number): { dst: Int32Array; vrf: Int32Array } {
  const all = t.fibs.flat();
  const edges = boundaries(all);
  const sampled = sampleAddresses(all, n, seed);
  const dst = new Int32Array(n);
  const vrf = new Int32Array(n);
  const period = t.fibs.length + 2;
  for (let i = 0; i < n; i++) {
    // Boundaries start at an offset that moves with the seed, so batches cover different ones.
    dst[i] = i % 2 === 0 && edges.length > 0 ? edges[(i / 2 + seed * 7919) % edges.length] : sampled[i];
    vrf[i] = ((i + seed) % period) - 1;
  }
  return { dst, vrf };
}
