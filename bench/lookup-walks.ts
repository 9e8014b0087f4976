/**
 * Bench section "lookup-walks": the CPU batch lookup (`lookupBatch`) of three trees in one
 * process, interleaved, on the full 2023 table (901,899 prefixes, 64 synthetic next hops):
 *   layout 1     git ref LAYOUT1_REF, main before layout 2 (16-word node headers, 32-bit runs)
 *   layout 2     git ref LAYOUT2_REF, layout 2 before this round's walk (issue 14 item 5 A/B)
 *   this tree    the walk as built here
 * with the TypeScript DIR-24-8 (bench/dir-24-8.ts) in the same rounds. Each baseline tree is
 * checked out and built once under .cache (baseline-tree.ts); its own loader, builder and walk
 * make and look up its own image, so each walk reads the image format it was written for.
 *
 * Workloads, in this order: example.pcap's destinations (cache-hot), uniform random addresses,
 * and example.pcap's destinations again (the same walks after random traffic).
 * A round times every walk once per workload on the same slice of 65,536 addresses, in an
 * order that rotates every round; rows give the medians of the rates and the medians of the
 * rounds' paired ratios (a walk's time over another's in the same round), the figures a loaded
 * machine cannot fake by preempting one side. Every walk's answers are checked against DIR-24-8.
 * A baseline that cannot be had is said in a note and leaves its rows out.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchReport } from './report.js';
import { sharedData } from './paths.js';
import { baselineTree } from './baseline-tree.js';
import { Dir24_8, dir24Lookup } from './dir-24-8.js';
import { pcapDestinations } from './multi-fib.js';
import { median, range } from './stats.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import { lookupBatch } from '../core/structures/multi-fib/lookup-batch.js';
import { xorshift } from './xorshift.js';

/** Main before layout 2 (layout 1's builder and walk, with the /24 answer cache). */
export const LAYOUT1_REF = '7aaf9e7';
/** Main with layout 2, before this round's changes to the walk. */
export const LAYOUT2_REF = 'dcff523';

const ROUNDS = 61;
const SLICE = 1 << 16;
const N = 1 << 20;
const SYNTHETIC = 64;

type LookupBatch = (image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number) => void;

/** What a tree's dist/ must export for this section (every tree since the multi-FIB has these). */
interface TreeModules {
  loadRouteFile: (file: string, options: { syntheticNextHops: number }) => unknown;
  multiFibFromLoaded: (files: unknown[]) => { imageI32: Int32Array };
  lookupBatch: LookupBatch;
}

async function treeModules(root: string): Promise<TreeModules> {
  const load = (rel: string): Promise<Record<string, unknown>> => import(pathToFileURL(path.join(root, 'dist', rel)).href) as Promise<Record<string, unknown>>;
  const [routes, build, batch] = await Promise.all([load('core/routes/load-routes.js'), load('core/routes/build-multi-fib.js'), load('core/structures/multi-fib/lookup-batch.js')]);
  for (const [mod, name] of [[routes, 'loadRouteFile'], [build, 'multiFibFromLoaded'], [batch, 'lookupBatch']] as const) {
    if (typeof mod[name] !== 'function') throw new Error(`bench lookup-walks: ${root}/dist does not export ${name}`);
  }
  return { loadRouteFile: routes.loadRouteFile, multiFibFromLoaded: build.multiFibFromLoaded, lookupBatch: batch.lookupBatch } as TreeModules;
}

interface Walk {
  name: string;
  run: (dst: Int32Array, out: Int32Array, batch: number) => void;
  mib: number;
}

export async function run(report: BenchReport): Promise<void> {
  const file = sharedData('routes/bart-prefixes-2023.txt.gz');
  const sec = report.section('lookup-walks: CPU batch lookup, layout 1 vs layout 2 vs this tree, full 2023 table, one process, interleaved');
  const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  report.note(sec, `load average at start: ${load()} (1, 5, 15 min; ${os.cpus().length} cores)`);

  const loaded = loadRouteFile(file, { syntheticNextHops: SYNTHETIC });
  const f = loaded.fibs[0];
  const dir = new Dir24_8(f.prefix, f.len, f.hop, f.count);
  const walks: Walk[] = [{ name: 'DIR-24-8 (TS)', run: (dst, out, b) => dir24Lookup(dir.tbl24, dir.tbl8, dst, out, b), mib: dir.bytes / 2 ** 20 }];
  const at: Record<string, number> = {};
  for (const [label, ref] of [['layout 1', LAYOUT1_REF], ['layout 2', LAYOUT2_REF]] as const) {
    const tree = baselineTree(ref);
    if (!tree.ok) {
      report.note(sec, `NO ${label.toUpperCase()} BASELINE: ${tree.reason}; its rows are left out`);
      continue;
    }
    const m = await treeModules(tree.root);
    const image = m.multiFibFromLoaded([m.loadRouteFile(file, { syntheticNextHops: SYNTHETIC })]).imageI32;
    at[label] = walks.length;
    walks.push({ name: `${label} (${ref})`, run: (dst, out, b) => m.lookupBatch(image, null, dst, out, b), mib: image.byteLength / 2 ** 20 });
    report.note(sec, `${label} = ${ref} (${tree.commit.slice(0, 12)}), ${tree.built === 'now' ? 'checked out and built now' : 'built by an earlier run'} in ${path.relative(process.cwd(), tree.root)}`);
  }
  const own = multiFibFromLoaded([loaded]).imageI32;
  walks.push({ name: 'this tree', run: (dst, out, b) => lookupBatch(own, null, dst, out, b), mib: own.byteLength / 2 ** 20 });

  const next = xorshift(42);
  const random = new Int32Array(N);
  for (let i = 0; i < N; i++) random[i] = next() | 0;
  // Cache-hot traffic both first and after random traffic: the code V8 makes of a walk can
  // depend on what it ran before (layout 2's probe ran at about half its speed after random
  // traffic, measured: its callee's slot array is a constant only where V8 inlines it).
  const pcap = pcapDestinations(N);
  const workloads: [string, Int32Array][] = [
    ['example.pcap destinations, before random traffic', pcap],
    ['uniform random', random],
    ['example.pcap destinations, after random traffic', pcap],
  ];
  const out = new Int32Array(N);
  for (const [wname, dst] of workloads) {
    const want = new Int32Array(N);
    dir24Lookup(dir.tbl24, dir.tbl8, dst, want, N);
    for (const batch of [1024, 16384]) {
      const ms: number[][] = walks.map(() => []);
      for (let r = 0; r < ROUNDS; r++) {
        const base = (r * SLICE) % N;
        for (let k = 0; k < walks.length; k++) {
          const w = (k + r) % walks.length;
          const t0 = performance.now();
          for (let o = base; o < base + SLICE; o += batch) walks[w].run(dst.subarray(o, o + batch), out.subarray(o, o + batch), batch);
          ms[w].push(performance.now() - t0);
          for (let i = base; i < base + SLICE; i++) {
            if (out[i] !== want[i]) throw new Error(`bench lookup-walks: ${walks[w].name} answers ${out[i]} for item ${i} of ${wname}, DIR-24-8 ${want[i]}`);
          }
        }
      }
      const label = `${wname}, batch ${batch / 1024}k`;
      const rate = (t: number): number => SLICE / (t / 1000);
      const paired = (a: number, b: number): number[] => ms[a].map((t, r) => ms[b][r] / t);
      const l1 = at['layout 1'];
      const l2 = at['layout 2'];
      for (const [w, walk] of walks.entries()) {
        const extra: Record<string, number | string> = { MiB: walk.mib, range: range(ms[w].map(rate).map((x) => x / 1e6), 0) + ' M/s' };
        if (w > 0) extra.pairedVsDir = median(paired(w, 0));
        if (l1 !== undefined && w > l1) extra.pairedVsLayout1 = median(paired(w, l1));
        if (l2 !== undefined && w > l2) extra.pairedVsLayout2 = median(paired(w, l2));
        report.add(sec, { name: `${walk.name} ${label}`, value: median(ms[w].map(rate)), unit: 'lookup/s', baseline: w === 0 ? undefined : `${walks[0].name} ${label}`, extra });
      }
    }
  }
  report.note(sec, `${ROUNDS} rounds of ${SLICE} addresses per walk per row, order rotating each round; values are median rates; pairedVsDir / pairedVsLayout1 / pairedVsLayout2 are medians of the rounds' paired ratios; answers checked equal to DIR-24-8; load average at end: ${load()}`);
}
