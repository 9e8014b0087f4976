/**
 * Bench section "multi-fib": the shared-prefix multi-FIB on the full 2023 table (901,899
 * prefixes, 64 synthetic next hops) on one core.
 *   build      file -> image, against a plain TypeScript DIR-24-8 built from the same routes
 *   lookups    uniformly random addresses and the destinations of example.pcap, against DIR-24-8
 *              in TypeScript, and at batch 1024 against DIR-24-8 in C (bench/dir-24-8.c, rte_lpm's
 *              layout, gcc -O3 -march=native), runs of the two interleaved, medians
 *   memory     K FIBs in one structure against K separate ones: the three LINX snapshots, and
 *              K = 2, 8, 32 variants of the full table differing in ~1% of next hops
 *   updates    route changes per second while lookups run, against lookups alone
 * Rates are the best of several interleaved runs (the machine is shared).
 */
import type { BenchReport } from './report.js';
import { sharedData } from './paths.js';
import { Dir24_8, dir24Lookup } from './dir-24-8.js';
import { buildCDir24, runCDir24, writeCDir24Routes } from './dir-24-8-c.js';
import { loadRouteFile, type LoadedRoutes } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import { MultiFib, type RouteColumns } from '../core/structures/multi-fib/multi-fib.js';
import { NextHopTable } from '../core/structures/multi-fib/next-hops.js';
import { lookupBatch } from '../core/structures/multi-fib/lookup-batch.js';
import { PcapReader } from '../core/pcap/pcap-reader.js';
import { CACHE_BYTES } from '../core/structures/multi-fib/destination-cache.js';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './paths.js';
import { xorshift } from './xorshift.js';

const N = 1 << 20;
const SYNTHETIC = 64;

function best(runs: number, fn: () => void): number {
  let ms = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

/** IPv4 destinations of the packets in example.pcap (Ethernet), repeated to `n`. */
export function pcapDestinations(n: number): Int32Array {
  const reader = PcapReader.open(sharedData('pcaps/pcapplusplus/example.pcap'));
  const found: number[] = [];
  for (let b = reader.nextBatch(0, 4096); b !== null; b = reader.nextBatch(0, 4096)) {
    for (let i = 0; i < b.count; i++) {
      const o = b.offset[i];
      if (b.length[i] >= 34 && b.data[o + 12] === 0x08 && b.data[o + 13] === 0x00) {
        found.push((b.data[o + 30] << 24) | (b.data[o + 31] << 16) | (b.data[o + 32] << 8) | b.data[o + 33]);
      }
    }
  }
  reader.close();
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = found[i % found.length];
  return out;
}

function columnsOf(l: LoadedRoutes): RouteColumns {
  const f = l.fibs[0];
  return { count: f.count, prefix: f.prefix, len: f.len, nh: f.hop };
}

/** Variant v of the table: every 100th route (offset by v) gets another of the 64 next hops. */
function variant(base: RouteColumns, v: number): RouteColumns {
  if (v === 0) return base;
  const nh = base.nh.slice();
  for (let i = v % 100; i < base.count; i += 100) nh[i] = (nh[i] + 1 + (v % (SYNTHETIC - 1))) % SYNTHETIC;
  return { ...base, nh };
}

function syntheticHops(): NextHopTable {
  const t = new NextHopTable();
  for (let i = 0; i < SYNTHETIC; i++) t.intern({ label: `nh${i}` });
  return t;
}

export async function run(report: BenchReport): Promise<void> {
  const file = sharedData('routes/bart-prefixes-2023.txt.gz');

  // ---- build ----
  const build = report.section('multi-fib: build, full 2023 table (901,899 prefixes)');
  let loaded = loadRouteFile(file, { syntheticNextHops: SYNTHETIC });
  const base = columnsOf(loaded);
  let dir: Dir24_8 | null = null;
  const dirMs = best(2, () => {
    dir = new Dir24_8(base.prefix, base.len, base.nh, base.count);
  });
  report.add(build, { name: 'DIR-24-8 build (parsed routes)', value: dirMs, unit: 'ms' });
  const parseMs = best(3, () => {
    loaded = loadRouteFile(file, { syntheticNextHops: SYNTHETIC });
  });
  let fib: MultiFib = multiFibFromLoaded([loaded]);
  const buildMs = best(3, () => {
    fib = new MultiFib(['full'], [base], syntheticHops());
  });
  report.add(build, { name: 'multi-fib build (parsed routes)', value: buildMs, unit: 'ms', baseline: 'DIR-24-8 build (parsed routes)' });
  report.add(build, { name: 'multi-fib gunzip+parse', value: parseMs, unit: 'ms' });
  const fileMs = best(3, () => {
    fib = multiFibFromLoaded([loadRouteFile(file, { syntheticNextHops: SYNTHETIC })]);
  });
  report.add(build, { name: 'multi-fib file -> image', value: fileMs, unit: 'ms', baseline: 'DIR-24-8 build (parsed routes)' });
  report.note(build, 'Click (RadixIPLookup) is reported to load the same table in 0.35 s.');

  // ---- lookups ----
  const look = report.section('multi-fib: lookups on one core, full 2023 table');
  const d = dir as unknown as Dir24_8;
  const image = fib.imageI32;
  const next = xorshift(42);
  const random = new Int32Array(N);
  for (let i = 0; i < N; i++) random[i] = next() | 0;
  const pcap = pcapDestinations(N);
  const out = new Int32Array(N);
  const out2 = new Int32Array(N);
  const rate = (ms: number): number => N / (ms / 1000);
  // Packet pipelines look up a batch at a time (256-1024 packets); large batches show the table's
  // cache behaviour once the address and answer columns no longer fit in cache themselves.
  for (const [name, dst] of [['random', random], ['example.pcap destinations', pcap]] as const) {
    for (const size of [1024, 16384, N]) {
      let dirBest = Infinity;
      let mfBest = Infinity;
      const inChunks = (fn: (o: number) => void) => () => {
        for (let o = 0; o + size <= N; o += size) fn(o);
      };
      const dirRun = inChunks((o) => dir24Lookup(d.tbl24, d.tbl8, dst.subarray(o, o + size), out2.subarray(o, o + size), size));
      const mfRun = inChunks((o) => lookupBatch(image, null, dst.subarray(o, o + size), out.subarray(o, o + size), size));
      for (let r = 0; r < 7; r++) {
        dirBest = Math.min(dirBest, best(1, dirRun));
        mfBest = Math.min(mfBest, best(1, mfRun));
      }
      for (let i = 0; i < N; i++) if (out[i] !== out2[i]) throw new Error(`bench: multi-fib and DIR-24-8 disagree on item ${i}`);
      const label = `${name}, batch ${size === N ? '1M' : `${size / 1024}k`}`;
      report.add(look, { name: `DIR-24-8 ${label}`, value: rate(dirBest), unit: 'lookup/s', extra: { MiB: d.bytes / 2 ** 20 } });
      report.add(look, { name: `multi-fib ${label}`, value: rate(mfBest), unit: 'lookup/s', baseline: `DIR-24-8 ${label}`, extra: { MiB: fib.memory().bytes / 2 ** 20 } });
    }
  }
  report.note(look, `${N} addresses per row, looked up in batches of the size shown; answers checked equal between the two`);

  // ---- lookups against DIR-24-8 in C ----
  const native = report.section('multi-fib: lookups against DIR-24-8 in C (rte_lpm layout), full 2023 table, batch 1024');
  const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  report.note(native, `load average at start: ${load()} (1, 5, 15 min; ${os.cpus().length} cores)`);
  const c = buildCDir24();
  const work = path.join(projectRoot(), '.cache', 'bench');
  mkdirSync(work, { recursive: true });
  const routesFile = path.join(work, 'dir-24-8-routes.bin');
  writeCDir24Routes(base, routesFile);
  const median = (xs: number[]): number => {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const B = 1024;
  for (const [name, dst] of [['uniform random', random], ['example.pcap destinations', pcap]] as const) {
    const cRates: number[] = [];
    const mfRates: number[] = [];
    let cBytes = 0;
    // Rounds of (one C process: build, then 5 timed passes) and (5 TS passes), alternating.
    for (let round = 0; round < 5; round++) {
      const r = runCDir24(c.bin, routesFile, dst, B, 5);
      cBytes = r.bytes;
      for (const ms of r.runsMs) cRates.push(rate(ms));
      for (let k = 0; k < 5; k++) {
        mfRates.push(rate(best(1, () => {
          for (let o = 0; o + B <= N; o += B) lookupBatch(image, null, dst.subarray(o, o + B), out.subarray(o, o + B), B);
        })));
      }
      for (let i = 0; i < N; i++) if (out[i] !== r.answers[i]) throw new Error(`bench: multi-fib and C DIR-24-8 disagree on item ${i}`);
    }
    // Medians and bests both: on a loaded machine a pass is often preempted (the median shows
    // the load), the best pass shows the code.
    const cName = `C DIR-24-8 ${name}`;
    report.add(native, { name: `${cName}, median`, value: median(cRates), unit: 'lookup/s', extra: { min: Math.min(...cRates), MiB: cBytes / 2 ** 20 } });
    report.add(native, { name: `multi-fib ${name}, median`, value: median(mfRates), unit: 'lookup/s', baseline: `${cName}, median`, extra: { min: Math.min(...mfRates), MiB: fib.memory().bytes / 2 ** 20, cacheKiB: CACHE_BYTES / 1024 } });
    report.add(native, { name: `${cName}, best`, value: Math.max(...cRates), unit: 'lookup/s' });
    report.add(native, { name: `multi-fib ${name}, best`, value: Math.max(...mfRates), unit: 'lookup/s', baseline: `${cName}, best` });
  }
  report.note(native, `${N} addresses per row; medians and bests of 25 passes each (5 rounds of one C process with 5 passes, then 5 multi-fib passes); answers checked equal; ${c.compiler}; multi-fib includes its ${CACHE_BYTES / 1024} KiB /24 answer cache (destination-cache.ts); load average at end: ${load()}`);

  // ---- memory ----
  const mem = report.section('multi-fib: memory, K FIBs in one structure vs K separate ones');
  const linx = ['20170101.0000', '20170109.1600', '20170112.0800'].map((s) => loadRouteFile(sharedData(`routes/preprocessed-ipv4.rib.${s}.txt`)));
  const linxSeparate = linx.reduce((s, l) => s + multiFibFromLoaded([l]).memory().bytes, 0);
  const linxOne = multiFibFromLoaded(linx, ['a', 'b', 'c']).memory();
  report.add(mem, { name: 'LINX x3 separate', value: linxSeparate, unit: 'B' });
  report.add(mem, { name: 'LINX x3 one structure', value: linxOne.bytes, unit: 'B', baseline: 'LINX x3 separate', extra: { records: linxOne.records, sharing: linxOne.sharing } });
  const full = fib.memory();
  report.add(mem, { name: 'full table image, one FIB (layout 2)', value: full.bytes, unit: 'B', extra: { words: full.words, nodes: full.nodes, narrowNodes: full.narrowNodes, target: '< 4 MiB (issue 14 item 5)' } });
  const one = full.bytes;
  const separate: number[] = [];
  for (const k of [2, 8, 32]) {
    while (separate.length < k) separate.push(new MultiFib(['v'], [variant(base, separate.length)], syntheticHops()).memory().bytes);
    const sep = separate.slice(0, k).reduce((a, b) => a + b, 0);
    const t0 = performance.now();
    const multi = new MultiFib(Array.from({ length: k }, (_, v) => `v${v}`), Array.from({ length: k }, (_, v) => variant(base, v)), syntheticHops());
    const ms = performance.now() - t0;
    const m = multi.memory();
    report.add(mem, { name: `full table x${k} separate`, value: sep, unit: 'B' });
    report.add(mem, { name: `full table x${k} one structure`, value: m.bytes, unit: 'B', baseline: `full table x${k} separate`, extra: { vsOneFib: m.bytes / one, records: m.records, narrowNodes: m.narrowNodes, nodes: m.nodes, buildMs: ms } });
  }

  // ---- updates ----
  const upd = report.section('multi-fib: route updates while lookups run (full table)');
  const pool: [number, number][] = [];
  for (let i = 0; i < 4096; i++) {
    const j = next() % base.count;
    const len = Math.min(32, base.len[j] + 1 + (next() % 8));
    pool.push([(base.prefix[j] | (next() & (0xffffffff >>> base.len[j]))) >>> 0, len]);
  }
  const chunk = 16384;
  const lookOnly = best(5, () => {
    for (let o = 0; o + chunk <= N; o += chunk) lookupBatch(fib.imageI32, null, random.subarray(o, o + chunk), out, chunk);
  });
  report.add(upd, { name: 'lookups alone', value: rate(lookOnly), unit: 'lookup/s' });
  // One commit of `perCommit` changes: a pool route is removed when present, else set.
  const commitChanges = (perCommit: number): void => {
    fib.beginUpdate();
    for (let c = 0; c < perCommit; c++) {
      const [p, len] = pool[next() % pool.length];
      if (fib.getRoute(0, p, len) >= 0) fib.removeRoute(0, p, len);
      else fib.replace(0, p, len, next() % SYNTHETIC);
    }
    fib.commitUpdate();
  };
  for (const perCommit of [1, 100]) {
    let n = 0;
    const t1 = performance.now();
    while (performance.now() - t1 < 1000) {
      commitChanges(perCommit);
      n += perCommit;
    }
    report.add(upd, { name: `route changes alone (${perCommit}/commit)`, value: n / ((performance.now() - t1) / 1000), unit: 'change/s' });
  }
  for (const perCommit of [1, 100]) {
    let changes = 0;
    let lookups = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1500) {
      commitChanges(perCommit);
      changes += perCommit;
      const o = (next() % (N / chunk)) * chunk;
      lookupBatch(fib.imageI32, null, random.subarray(o, o + chunk), out, chunk);
      lookups += chunk;
    }
    const s = (performance.now() - t0) / 1000;
    report.add(upd, { name: `lookups with updates (${perCommit}/commit)`, value: lookups / s, unit: 'lookup/s', baseline: 'lookups alone', extra: { updatesPerS: Math.round(changes / s), imageMiB: fib.memory().bytes / 2 ** 20 } });
  }
  report.note(upd, 'each commit is followed by a lookup batch of 16,384 random addresses on the new image');
}
