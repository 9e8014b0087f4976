/**
 * Planner bench (issue 11, "Benchmark"): is the planner's choice the fastest placement measured,
 * or within 5% of it? The router pipeline with the full 2023 table (901,899 prefixes, synthetic
 * next hops as bench/full-table.ts) over the generated capture of 1M frames to seeded-random
 * destinations (bench/generated-captures.ts, ROUTER_CAPTURE: every lookup walks the table, no
 * destination repeats to help a cache), in two halves:
 *
 *  1. This machine's backends (cpu, lavapipe WebGPU, the Verilator FPGA; gpu.js when asked
 *     for): kernels calibrated on the full table, the config's host elements calibrated in the
 *     same run, then planned. Runs: the planner's choice, every single-backend placement of the
 *     lookup, the best split the model predicts (whether or not the planner chose it) and greedy.
 *  2. A modelled real GPU: the null backend with the costs of a data-center GPU over PCIe 4
 *     (backends/null/modelled-gpu.ts, with where the figures come from), computing in a worker thread and pacing every run to the modelled
 *     time (`device: 'worker'`, backends/null/modelled-device-worker.ts), so what is measured is
 *     the modelled device time plus the real host-side work of offloading to it. Planned from
 *     the same costs (a costs file, as `hetbox plan --costs`); runs: chosen, all-CPU, all-null,
 *     the best split, greedy. Each offloaded row shows the device's modelled time next to the
 *     worker's real compute time (when the worker is slower, the worker, not the model, limited).
 *
 * Measured: Router.run's packetsPerSecond (the run phase; the table load is not in it), the
 * median of ROUNDS interleaved rounds (every placement once per round), each in this process.
 *
 * Knobs: HETBOX_BENCH_PLANNER_BACKENDS (first half, default "cpu,webgpu,fpga"; add gpujs for
 * its modes), HETBOX_BENCH_PLANNER_BATCH (default 256), HETBOX_BENCH_PLANNER_ROUNDS (default 5),
 * HETBOX_BENCH_PLANNER_PACKETS (packets per run, default 500,000 of the capture's 1M),
 * HETBOX_BENCH_PLANNER_FPGA_PACKETS (packets per run of a placement on the Verilator FPGA,
 * default 20,000: it simulates every cycle and would take minutes per run otherwise),
 * HETBOX_BENCH_PLANNER_HALVES ("machine,gpu" by default).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCalibrate } from '../app/cli/calibrate-command.js';
import { backendOptions } from '../app/cli/plan-command.js';
import { Router } from '../core/router.js';
import { backendVariants, disposeBackends, getBackend } from '../core/backend-registry.js';
import type { Backend, BackendName } from '../core/backend.js';
import { calibrationFile, readCalibrationStore } from '../core/planner/calibration-store.js';
import { CostBook, type CostsFile } from '../core/planner/cost-profile.js';
import { predict, type Prediction } from '../core/planner/cost-model.js';
import { explainPlan, type PlanReport } from '../core/planner/explain.js';
import { buildPlacementProblem, splitCandidate, type PlacementProblem } from '../core/planner/placement-problem.js';
import { formatRate } from '../core/planner/search.js';
import { elementLibrary } from '../elements/index.js';
import { NullBackend, type NullBackendOptions } from '../backends/null/null-backend.js';
import { MODELLED_DATA_CENTER_GPU } from '../backends/null/modelled-gpu.js';
import { FULL_TABLE_NEXT_HOPS } from './full-table.js';
import { generatedCapture, ROUTER_CAPTURE } from './generated-captures.js';
import { projectRoot, sharedData } from './paths.js';
import type { BenchReport, BenchSection } from './report.js';

/** The modelled GPU's costs (backends/null/modelled-gpu.ts says where the figures come from). */
const MODELLED_GPU = MODELLED_DATA_CENTER_GPU;

interface Knobs {
  backends: string[];
  batch: number;
  rounds: number;
  packets: number;
  fpgaPackets: number;
  halves: string[];
}

function knobs(): Knobs {
  const int = (name: string, dflt: number): number => {
    const v = Number(process.env[name] ?? String(dflt));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}: expected a positive integer, got '${process.env[name]}'`);
    return v;
  };
  const list = (name: string, dflt: string): string[] => (process.env[name] ?? dflt).split(',').map((s) => s.trim()).filter((s) => s !== '');
  return {
    backends: list('HETBOX_BENCH_PLANNER_BACKENDS', 'cpu,webgpu,fpga'),
    batch: int('HETBOX_BENCH_PLANNER_BATCH', 256),
    rounds: int('HETBOX_BENCH_PLANNER_ROUNDS', 5),
    packets: int('HETBOX_BENCH_PLANNER_PACKETS', 500_000),
    fpgaPackets: int('HETBOX_BENCH_PLANNER_FPGA_PACKETS', 20_000),
    halves: list('HETBOX_BENCH_PLANNER_HALVES', 'machine,gpu'),
  };
}

/**
 * Where the lookup runs, as the configuration says it: a split is `PLACE "a:w,b"` (IPLookup
 * carries it out); a single placement is `BACKEND b` (PLACE alone only pins the planner), which
 * names no variant, so a backend's variants other than its default cannot be run here (null).
 */
function lookupPlacement(place: string): string | null {
  if (place === 'cpu') return '';
  if (place.includes(':')) return `, PLACE "${place}"`;
  const [backend, variant] = place.split('/');
  if (variant !== undefined && variant !== backendVariants(backend)[0]) return null;
  return `, BACKEND ${backend}`;
}

/** The router: every IPv4 packet checked, looked up in the full table, TTL decremented, counted. */
function routerConfig(capture: string, table: string, packets: number, place: string): string {
  const where = lookupPlacement(place) ?? '';
  return `
    src :: FromDump(FILE "${capture}", STOP true, LIMIT ${packets});
    cls :: Classifier(12/0800, -);
    chk :: CheckIPHeader;
    rt  :: IPLookup(FIB "${table}"${where});
    ttl :: DecIPTTL;
    src -> rx :: Counter -> cls;
    cls[0] -> Strip(14) -> chk -> rt -> ttl;
    cls[1] -> nonip :: Discard;
    ttl[0] -> Unstrip(14) -> tx :: Counter -> Discard;
    ttl[1] -> expired :: Discard;
`;
}

/** The lookup's device figures of one run (sums over its batches, from `rt.kernel_stats`). */
interface DeviceFigures {
  simulatedNs: number;
  workerNs: number;
  lateNs: number;
  batches: number;
}

interface Measured {
  pps: number;
  warnings: string[];
  device: DeviceFigures | null;
}

async function measure(config: string, file: string, batch: number, backends: (name: BackendName) => Promise<Backend>): Promise<Measured> {
  const warnings: string[] = [];
  const router = Router.fromText(config, file, elementLibrary, {
    batchSize: batch,
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
    backends,
  });
  await router.initialize();
  try {
    const s = await router.run();
    const stats = await router.handler('rt.kernel_stats').read?.();
    return { pps: s.packetsPerSecond, warnings, device: deviceFigures(stats ?? '') };
  } finally {
    await router.cleanup();
  }
}

/** The null device's line of `kernel_stats` (`ip-lookup null batches N ... simulatedNs S workerNs W ...`). */
function deviceFigures(stats: string): DeviceFigures | null {
  const line = stats.split('\n').find((l) => l.startsWith('ip-lookup null '));
  if (line === undefined) return null;
  const num = (key: string): number => Number(new RegExp(`\\b${key} ([0-9.e+-]+)`).exec(line)?.[1] ?? NaN);
  return { simulatedNs: num('simulatedNs'), workerNs: num('workerNs'), lateNs: num('lateNs'), batches: num('batches') };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** The plan, and the problem it was made on (for predictions of placements it did not choose). */
interface Planned {
  report: PlanReport;
  problem: PlacementProblem;
  rt: number;
}

/** As `hetbox plan` does (app/cli/plan-command.ts), but keeping the problem. */
async function plan(configFile: string, backends: string[], batch: number, env: NodeJS.ProcessEnv, costs?: CostsFile): Promise<Planned> {
  const router = Router.fromFile(configFile, elementLibrary);
  const store = readCalibrationStore(calibrationFile(env)).store;
  const book = new CostBook(costs);
  for (const h of store?.host?.costs ?? []) book.setCalibratedHost(h.className, h);
  const problem = buildPlacementProblem({ graph: router.graph, backends: await backendOptions(backends, store), book });
  const report = explainPlan(problem, { objective: 'throughput', batch, splits: true });
  const rt = problem.elements.findIndex((e) => e.name === 'rt');
  if (rt < 0) throw new Error('bench planner: no element rt in the plan');
  return { report, problem, rt };
}

/** The placement with every element as chosen but the lookup at candidate `c`: its prediction. */
function predictLookupAt(p: Planned, candidate: number, batch: number): Prediction {
  const chosen = p.report.chosen.placement;
  const placement = p.problem.elements.map((e, i) => (i === p.rt ? candidate : e.candidates.findIndex((c) => c.label === chosen[e.name])));
  return predict(p.problem, placement, { batch });
}

/** The best split of the lookup the model predicts (every pair of usable candidates, 1% steps), chosen or not. */
function bestSplit(p: Planned, batch: number): { place: string; prediction: Prediction } | null {
  const e = p.problem.elements[p.rt];
  const usable = e.candidates.filter((c) => c.status === 'ok' && c.split === undefined);
  let best: { place: string; prediction: Prediction } | null = null;
  for (const x of usable) {
    for (const y of usable) {
      if (x === y || x.backend === 'cpu') continue;
      for (let k = 1; k < 100; k++) {
        e.candidates.push(splitCandidate(x, y, k / 100));
        const prediction = predictLookupAt(p, e.candidates.length - 1, batch);
        const label = e.candidates.pop()!.label;
        if (best === null || prediction.throughputPps > best.prediction.throughputPps) best = { place: label, prediction };
      }
    }
  }
  return best;
}

interface Row {
  names: string[];
  place: string;
  predicted: number;
  bottleneck: string;
  rates: number[];
  warnings: Set<string>;
  device: DeviceFigures[];
}

/** The rows to run: the plan's choice and baselines, every single placement of the lookup, the best split. */
function rowsOf(p: Planned, batch: number, skipped: string[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  const add = (name: string, place: string, prediction: Prediction): void => {
    if (lookupPlacement(place) === null) {
      skipped.push(`${name} (rt on ${place}: BACKEND names no variant, so only a backend's default variant runs)`);
      return;
    }
    const r = rows.get(place) ?? { names: [], place, predicted: prediction.throughputPps, bottleneck: prediction.bottleneck, rates: [], warnings: new Set<string>(), device: [] };
    if (!r.names.includes(name)) r.names.push(name);
    rows.set(place, r);
  };
  for (const q of [p.report.chosen, ...p.report.baselines]) add(q.name, q.placement.rt, q.prediction);
  p.problem.elements[p.rt].candidates.forEach((c, i) => {
    if (c.status === 'ok' && c.split === undefined) add(`only ${c.label}`, c.label, predictLookupAt(p, i, batch));
  });
  const split = bestSplit(p, batch);
  if (split !== null) add('best split', split.place, split.prediction);
  return rows;
}

/** Packets of a warm-up run: every placement once before the rounds, so no row pays the JIT's first compile. */
const WARM_UP_PACKETS = 50_000;

async function runRows(rows: Map<string, Row>, k: Knobs, dir: string, capture: string, table: string, backends: (name: BackendName) => Promise<Backend>): Promise<void> {
  for (let round = -1; round < k.rounds; round++) {
    for (const r of rows.values()) {
      const full = r.place.includes('fpga') ? Math.min(k.fpgaPackets, k.packets) : k.packets;
      const packets = round < 0 ? Math.min(full, WARM_UP_PACKETS) : full;
      const text = routerConfig(capture, table, packets, r.place);
      const file = path.join(dir, `router-${r.place.replace(/[^a-z0-9]/gi, '_')}.click`);
      writeFileSync(file, text);
      const m = await measure(text, file, k.batch, backends);
      if (round < 0) continue;
      r.rates.push(m.pps);
      for (const w of m.warnings) r.warnings.add(w);
      if (m.device !== null) r.device.push(m.device);
    }
  }
}

/** One bench row per placement, the all-CPU run as baseline; then whether the choice was fastest or within 5%. */
function report(report: BenchReport, section: BenchSection, rows: Map<string, Row>, p: Planned, k: Knobs): void {
  const cpu = rows.get('cpu');
  const list = [...rows.values()].sort((a, b) => (a.place === 'cpu' ? -1 : b.place === 'cpu' ? 1 : 0));
  const label = (r: Row): string => `${r.names.join(' = ')}: rt on ${r.place}`;
  for (const r of list) {
    const m = median(r.rates);
    const dev = r.device.length === 0 ? {} : deviceExtra(r.device);
    report.add(section, {
      name: label(r),
      value: m,
      unit: 'pkt/s',
      ...(cpu !== undefined && r !== cpu ? { baseline: label(cpu) } : {}),
      extra: {
        predicted: r.predicted,
        error: `${(((m - r.predicted) / r.predicted) * 100).toFixed(0)}%`,
        min: Math.min(...r.rates),
        max: Math.max(...r.rates),
        bottleneck: r.bottleneck,
        ...(r.place.includes('fpga') ? { packetsPerRun: Math.min(k.fpgaPackets, k.packets) } : {}),
        ...dev,
        ...(r.warnings.size > 0 ? { warnings: [...r.warnings].join(' | ') } : {}),
      },
    });
  }
  const chosen = rows.get(p.report.chosen.placement.rt);
  const fastest = list.reduce((a, b) => (median(b.rates) > median(a.rates) ? b : a));
  if (chosen === undefined) return;
  const gap = median(chosen.rates) / median(fastest.rates);
  const verdict = chosen === fastest ? 'the fastest measured' : gap >= 0.95 ? `within 5% of the fastest (${label(fastest)}, ${(100 * (1 - gap)).toFixed(1)}% slower)` : `NOT within 5%: ${(100 * (1 - gap)).toFixed(1)}% slower than ${label(fastest)}`;
  // On a loaded machine the rounds spread widely: say whether the two rows' ranges overlap.
  const overlap = chosen === fastest ? '' : Math.max(...chosen.rates) >= Math.min(...fastest.rates) ? '; their measured ranges overlap' : '; their measured ranges do not overlap';
  report.note(section, `planner's choice (rt on ${chosen.place}, predicted ${formatRate(chosen.predicted)}): ${verdict}${overlap}`);
}

/** Modelled device time against the worker's real compute, per batch (the worker was the limit when it is the larger). */
function deviceExtra(runs: DeviceFigures[]): Record<string, string | number> {
  const sum = (f: (d: DeviceFigures) => number): number => runs.reduce((s, d) => s + f(d), 0);
  const batches = sum((d) => d.batches);
  const modelled = sum((d) => d.simulatedNs) / batches;
  const worker = sum((d) => d.workerNs) / batches;
  if (!Number.isFinite(worker)) return { modelledUsPerBatch: (modelled / 1000).toFixed(1) };
  return {
    modelledUsPerBatch: (modelled / 1000).toFixed(1),
    workerUsPerBatch: (worker / 1000).toFixed(1),
    limit: worker > modelled ? 'worker' : 'model',
    lateUsPerBatch: (sum((d) => d.lateNs) / batches / 1000).toFixed(1),
  };
}

function load(): string {
  return `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`;
}

export async function run(bench: BenchReport): Promise<void> {
  const k = knobs();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-bench-planner-'));
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const table = sharedData('routes/bart-prefixes-2023.txt.gz');
  const capture = generatedCapture(ROUTER_CAPTURE);
  const hostCapture = path.join(projectRoot(), 'examples', 'data', 'input.pcap');
  const configFile = path.join(dir, 'router.click');
  writeFileSync(configFile, routerConfig(capture, table, k.packets, 'cpu'));
  const quiet = (): void => undefined;
  const t0 = performance.now();
  // The config's host elements on this CPU, in this run: both halves' plans use them.
  await runCalibrate(['--backends', '', '--elements', '', '--config', configFile, '--batches', '64,256,1024', '--repeats', '9', '--replays', '40', '--capture', hostCapture, '--json'], quiet, env);
  const hostSeconds = (performance.now() - t0) / 1000;
  const what = `router (Classifier, CheckIPHeader, IPLookup, DecIPTTL) with the full 2023 table (${FULL_TABLE_NEXT_HOPS} synthetic next hops), ${path.basename(capture)} (random destinations), batch ${k.batch}`;

  if (k.halves.includes('machine')) {
    const section = bench.section(`planner on this machine's backends (${k.backends.join('+')}): ${what}`);
    const t1 = performance.now();
    await runCalibrate(['--backends', k.backends.join(','), '--batches', '64,256,1024,4096', '--repeats', '3', '--routes', table, '--capture', capture, '--hosts', 'off', '--json'], quiet, env);
    const p = await plan(configFile, k.backends, k.batch, env);
    bench.note(section, `host elements calibrated in ${hostSeconds.toFixed(1)} s, kernels in ${((performance.now() - t1) / 1000).toFixed(1)} s; ${p.report.method} search, ${p.report.evaluated} placements; ${load()}; webgpu is lavapipe, fpga is Verilator (software devices: charged to the CPU)`);
    const skipped: string[] = [];
    const rows = rowsOf(p, k.batch, skipped);
    if (skipped.length > 0) bench.note(section, `not run: ${skipped.join('; ')}`);
    await runRows(rows, k, dir, capture, table, getBackend);
    report(bench, section, rows, p, k);
    bench.note(section, `measured: run phase (Router.run packetsPerSecond), median of ${k.rounds} interleaved rounds of ${k.packets} packets (fpga placements ${Math.min(k.fpgaPackets, k.packets)}) after a warm-up round of ${WARM_UP_PACKETS}; predicted: the plan's model with this run's calibration; ${load()}`);
    await disposeBackends();
  }

  if (k.halves.includes('gpu')) {
    const section = bench.section(`planner with a modelled data-center GPU (null backend, worker-thread device paced to ${MODELLED_GPU.perBatchNs / 1000} us/batch + ${MODELLED_GPU.perItemNs} ns/lookup + ${MODELLED_GPU.perByteTransferNs} ns/byte): ${what}`);
    const gpuOptions: NullBackendOptions = { description: 'modelled data-center GPU over PCIe 4 (null, worker thread)', costs: { ...MODELLED_GPU }, device: 'worker' };
    const costs: CostsFile = { profiles: [{ kernel: 'ip-lookup', backend: 'null', ...MODELLED_GPU }], hostElements: { byClass: {} }, hostSide: {} };
    // cpu's lookup calibrated on this machine (the first half did it when it ran; harmless again).
    await runCalibrate(['--backends', 'cpu', '--batches', '64,256,1024,4096', '--repeats', '3', '--routes', table, '--capture', capture, '--hosts', 'off', '--json'], quiet, env);
    const p = await plan(configFile, ['cpu', 'null'], k.batch, env, costs);
    bench.note(section, `${p.report.method} search, ${p.report.evaluated} placements; the null profile is the costs file's (as hetbox plan --costs), cpu's is calibrated; ${load()}`);
    const rows = rowsOf(p, k.batch, []);
    // One modelled device for every run of this half (each run loads and releases its table on it).
    const gpu = new NullBackend(gpuOptions);
    try {
      await runRows(rows, k, dir, capture, table, (name) => (name === 'null' ? Promise.resolve(gpu) : getBackend(name)));
    } finally {
      await gpu.dispose();
    }
    report(bench, section, rows, p, k);
    bench.note(section, `measured: as above; modelled/worker us per batch: the device's modelled time per batch and the worker thread's real compute for it (limit=worker: the worker, not the model, was slower; lateUs: by how much per batch); ${load()}`);
    await disposeBackends();
  }
}
