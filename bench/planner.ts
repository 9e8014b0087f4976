/**
 * Planner bench (issue 11, "Benchmark"): is the planner's choice the fastest placement measured,
 * or within 5% of it? The router pipeline with the full 2023 table (901,899 prefixes, synthetic
 * next hops as bench/full-table.ts) over the generated capture of 1M frames to seeded-random
 * destinations (bench/generated-captures.ts, ROUTER_CAPTURE: every lookup walks the table, no
 * destination repeats to help a cache), in two halves:
 *
 *  1. This machine's backends (cpu, lavapipe WebGPU, the Verilator FPGA; gpu.js when asked
 *     for): kernels calibrated on the full table, then the config's host elements, the lookup's
 *     host side on every calibrated backend, its shares and composition factor (hetbox calibrate
 *     --config), then planned as hetbox plan does. Runs: the planner's choice, every single-backend
 *     placement of the lookup (one the plan found unusable too, unpredicted), the best split the
 *     model predicts (whether or not the planner chose it) and greedy.
 *  2. A modelled real GPU: the null backend with the costs of a data-center GPU over PCIe 4
 *     (backends/null/modelled-gpu.ts, with where the figures come from), computing in a worker
 *     thread and pacing every run to the modelled time (`device: 'worker'`,
 *     backends/null/modelled-device-worker.ts), so what is measured is the modelled device time
 *     plus the real host-side work of offloading to it. That host side (the hand-off to the
 *     worker) is calibrated on the same device instance the rows run on and given to the plan in
 *     the costs file with the device's costs (as `hetbox plan --costs`). Planned, run and judged
 *     at each of HETBOX_BENCH_PLANNER_GPU_BATCHES (256 and 4096: below the crossover the hand-off
 *     dominates and the CPU should keep the lookup; GPU routers batch large, PacketShader, NBA);
 *     runs: chosen, all-CPU, all-null, the best split, greedy. Each offloaded row shows the
 *     device's modelled time next to the worker's real compute time (when the worker is slower,
 *     the worker, not the model, limited).
 *  3. The same modelled GPU for a heavier kernel: the router with a firewall before its lookup
 *     (`ACL(RULES examples/data/firewall.rules)`, the acl-match kernel: a first-match scan over
 *     the rules, ~1 ns a rule a packet on the CPU; the lookup pinned to the CPU), the ACL planned
 *     and run on cpu and null. NBA (Kim et al., EuroSys 2015) found the same split: IPv4 lookup
 *     belongs on the CPU, heavy per-packet work (IDS, IPsec) on the GPU. The modelled device
 *     computes its answers for real on its worker thread, so here the worker's compute, on a
 *     core the host thread does not use, is what offload gains, and a real GPU would gain more.
 *
 * Measured: Router.run's packetsPerSecond (the run phase; the table load is not in it), the
 * median of ROUNDS interleaved rounds (every placement once per round), each in this process.
 *
 * Knobs: HETBOX_BENCH_PLANNER_BACKENDS (first half, default "cpu,webgpu,fpga"; add gpujs for
 * its modes), HETBOX_BENCH_PLANNER_BATCH (default 256), HETBOX_BENCH_PLANNER_ROUNDS (default 7),
 * HETBOX_BENCH_PLANNER_PACKETS (packets per run, default 500,000 of the capture's 1M),
 * HETBOX_BENCH_PLANNER_FPGA_PACKETS (packets per run of a placement on the Verilator FPGA,
 * default 20,000: it simulates every cycle and would take minutes per run otherwise),
 * HETBOX_BENCH_PLANNER_HALVES ("machine,gpu,firewall" by default), HETBOX_BENCH_PLANNER_GPU_BATCHES (the
 * second half's batch sizes, default "256,4096"; HETBOX_BENCH_PLANNER_BATCH is the first half's).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calibratedPlacementProblem } from '../app/cli/plan-command.js';
import { calibrateKernelSides, type KernelSideCost } from '../app/host-calibration.js';
import { readThreadCpu, threadCpuSince } from '../app/thread-cpu-clock.js';
import { Router } from '../core/router.js';
import { backendVariants, disposeBackends, getBackend } from '../core/backend-registry.js';
import type { Backend, BackendName } from '../core/backend.js';
import { calibrationFile, readCalibrationStore } from '../core/planner/calibration-store.js';
import { CostBook, type CostsFile } from '../core/planner/cost-profile.js';
import { predict, type Prediction } from '../core/planner/cost-model.js';
import { explainPlan, type PlanReport } from '../core/planner/explain.js';
import { splitCandidate, type PlacementProblem } from '../core/planner/placement-problem.js';
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
  /** Batch sizes of the modelled-GPU half (each planned, run and judged on its own). */
  gpuBatches: number[];
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
    rounds: int('HETBOX_BENCH_PLANNER_ROUNDS', 7),
    packets: int('HETBOX_BENCH_PLANNER_PACKETS', 500_000),
    fpgaPackets: int('HETBOX_BENCH_PLANNER_FPGA_PACKETS', 20_000),
    halves: list('HETBOX_BENCH_PLANNER_HALVES', 'machine,gpu,firewall'),
    gpuBatches: list('HETBOX_BENCH_PLANNER_GPU_BATCHES', '256,4096').map((b) => {
      const v = Number(b);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`HETBOX_BENCH_PLANNER_GPU_BATCHES: expected positive integers, got '${b}'`);
      return v;
    }),
  };
}

/**
 * The element whose placement a section varies (the router's lookup `rt`, the firewall's ACL
 * `fw`), and the configuration around it with that element at a placement.
 */
interface Subject {
  name: string;
  className: string;
  kernel: string;
  /** Its spec without BACKEND or PLACE (what the host side is calibrated with). */
  spec: string;
  /** It carries out split placements (SplitPlaceable): only then is a split run. */
  splittable: boolean;
  what: string;
  config(packets: number, place: string): string;
}

/**
 * Where the subject runs, as the configuration says it: a split is `PLACE "a:w,b"` (IPLookup
 * carries it out); a single placement is `BACKEND b` (PLACE alone only pins the planner), which
 * names no variant, so a backend's variants other than its default cannot be run here (null).
 */
function placementClause(place: string): string | null {
  if (place === 'cpu') return '';
  if (place.includes(':')) return `, PLACE "${place}"`;
  const [backend, variant] = place.split('/');
  if (variant !== undefined && variant !== backendVariants(backend)[0]) return null;
  return `, BACKEND ${backend}`;
}

/**
 * The router: every IPv4 packet checked, looked up in the full table, TTL decremented, counted;
 * with `firewall`, its ACL line goes before the lookup.
 */
function routerText(capture: string, table: string, packets: number, lookupWhere: string, firewall: string | null): string {
  return `
    src :: FromDump(FILE "${capture}", STOP true, LIMIT ${packets});
    cls :: Classifier(12/0800, -);
    chk :: CheckIPHeader;${firewall === null ? '' : `\n    fw  :: ${firewall};`}
    rt  :: IPLookup(FIB "${table}"${lookupWhere});
    ttl :: DecIPTTL;
    src -> rx :: Counter -> cls;
    cls[0] -> Strip(14) -> chk -> ${firewall === null ? '' : 'fw -> '}rt -> ttl;
    cls[1] -> nonip :: Discard;
    ttl[0] -> Unstrip(14) -> tx :: Counter -> Discard;
    ttl[1] -> expired :: Discard;
`;
}

/** The router with the lookup at `place`. */
function routerConfig(capture: string, table: string, packets: number, place: string): string {
  return routerText(capture, table, packets, placementClause(place) ?? '', null);
}

/**
 * The router with a firewall before its lookup: the ACL (its rules scanned first match, denied
 * packets dropped and counted) at `place`; the lookup pinned to the CPU (PLACE cpu), where the
 * router sections find it belongs, so each row varies the ACL alone.
 */
function firewallConfig(capture: string, table: string, rules: string, packets: number, place: string): string {
  return routerText(capture, table, packets, ', PLACE cpu', `ACL(RULES "${rules}"${placementClause(place) ?? ''})`);
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
  /**
   * Packets per second of the host thread's own CPU time (app/thread-cpu-clock.ts; null where it
   * cannot be read): the rate had the host thread a core to itself. On a loaded machine the wall
   * rate is mostly the wait for a core; this is what the calibration (timed by the same clock)
   * predicts when the host thread is the bottleneck.
   */
  hostCpuPps: number | null;
  warnings: string[];
  device: DeviceFigures | null;
}

async function measure(subject: Subject, config: string, file: string, batch: number, backends: (name: BackendName) => Promise<Backend>): Promise<Measured> {
  const warnings: string[] = [];
  const router = Router.fromText(config, file, elementLibrary, {
    batchSize: batch,
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
    backends,
  });
  await router.initialize();
  try {
    const before = readThreadCpu();
    const s = await router.run();
    const cpu = threadCpuSince(before);
    const stats = await router.handler(`${subject.name}.kernel_stats`).read?.();
    const hostCpuPps = cpu === null || cpu.onCpuNs <= 0 ? null : (s.packetsIn * 1e9) / cpu.onCpuNs;
    return { pps: s.packetsPerSecond, hostCpuPps, warnings, device: deviceFigures(subject.kernel, stats ?? '') };
  } finally {
    await router.cleanup();
  }
}

/** The null device's line of `kernel_stats` (`ip-lookup null batches N ... simulatedNs S workerNs W ...`). */
function deviceFigures(kernel: string, stats: string): DeviceFigures | null {
  const line = stats.split('\n').find((l) => l.startsWith(`${kernel} null `));
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
  /** The subject's index among the problem's elements, and its name. */
  rt: number;
  name: string;
}

/** As `hetbox plan` does (app/cli/plan-command.ts), but keeping the problem. */
async function plan(subject: Subject, configFile: string, backends: string[], batch: number, env: NodeJS.ProcessEnv, costs?: CostsFile): Promise<Planned> {
  const router = Router.fromFile(configFile, elementLibrary);
  const store = readCalibrationStore(calibrationFile(env)).store;
  const book = new CostBook(costs);
  // Host elements, kernel elements' host sides, measured shares and the composition factor, as hetbox plan takes them.
  const { problem } = await calibratedPlacementProblem(router.graph, book, backends, store, configFile);
  const report = explainPlan(problem, { objective: 'throughput', batch, splits: true });
  const rt = problem.elements.findIndex((e) => e.name === subject.name);
  if (rt < 0) throw new Error(`bench planner: no element ${subject.name} in the plan`);
  return { report, problem, rt, name: subject.name };
}

/** The placement with every element as chosen but the lookup at candidate `c`: its prediction. */
function predictLookupAt(p: Planned, candidate: number, batch: number): Prediction {
  const chosen = p.report.chosen.placement;
  const placement = p.problem.elements.map((e, i) => (i === p.rt ? candidate : e.candidates.findIndex((c) => c.label === chosen[e.name])));
  return predict(p.problem, placement, { batch });
}

/** The best split of the lookup the model predicts (every pair of usable candidates, 1% steps), chosen or not; null for an element that cannot split. */
function bestSplit(p: Planned, batch: number): { place: string; prediction: Prediction } | null {
  const e = p.problem.elements[p.rt];
  if (e.splittable === false) return null;
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
  /** NaN where the plan found the placement unusable (it still runs: D, every single placement). */
  predicted: number;
  bottleneck: string;
  rates: number[];
  /** Host-thread CPU rates of the same runs (Measured.hostCpuPps). */
  hostCpuRates: number[];
  warnings: Set<string>;
  device: DeviceFigures[];
  /** Why a run failed (the row then has no rate). */
  failed?: string;
}

/**
 * The rows to run: the plan's choice and baselines, every single placement of the lookup (an
 * unusable one too, unpredicted, so the verdict is against every backend measured, not only those
 * the plan named), the best split.
 */
function rowsOf(p: Planned, batch: number, skipped: string[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  const add = (name: string, place: string, prediction: Pick<Prediction, 'throughputPps' | 'bottleneck'>): void => {
    if (placementClause(place) === null) {
      skipped.push(`${name} (${p.name} on ${place}: BACKEND names no variant, so only a backend's default variant runs)`);
      return;
    }
    const r = rows.get(place) ?? { names: [], place, predicted: prediction.throughputPps, bottleneck: prediction.bottleneck, rates: [], hostCpuRates: [], warnings: new Set<string>(), device: [] };
    if (!r.names.includes(name)) r.names.push(name);
    rows.set(place, r);
  };
  for (const q of [p.report.chosen, ...p.report.baselines]) add(q.name, q.placement[p.name], q.prediction);
  p.problem.elements[p.rt].candidates.forEach((c, i) => {
    if (c.split !== undefined) return;
    if (c.status === 'ok') add(`only ${c.label}`, c.label, predictLookupAt(p, i, batch));
    else add(`only ${c.label}`, c.label, { throughputPps: NaN, bottleneck: `unusable in the plan: ${c.status}${c.reason === undefined ? '' : ` (${c.reason})`}` });
  });
  const split = bestSplit(p, batch);
  if (split !== null) add('best split', split.place, split.prediction);
  return rows;
}

/** Packets of a warm-up run: every placement once before the rounds, so no row pays the JIT's first compile. */
const WARM_UP_PACKETS = 50_000;

async function runRows(subject: Subject, rows: Map<string, Row>, k: Knobs, batch: number, dir: string, backends: (name: BackendName) => Promise<Backend>): Promise<void> {
  for (let round = -1; round < k.rounds; round++) {
    for (const r of rows.values()) {
      if (r.failed !== undefined) continue;
      const full = r.place.includes('fpga') ? Math.min(k.fpgaPackets, k.packets) : k.packets;
      const packets = round < 0 ? Math.min(full, WARM_UP_PACKETS) : full;
      const text = subject.config(packets, r.place);
      const file = path.join(dir, `${subject.name}-${r.place.replace(/[^a-z0-9]/gi, '_')}.click`);
      writeFileSync(file, text);
      let m: Measured;
      try {
        m = await measure(subject, text, file, batch, backends);
      } catch (e) {
        r.failed = (e as Error).message;
        continue;
      }
      if (round < 0) continue;
      r.rates.push(m.pps);
      if (m.hostCpuPps !== null) r.hostCpuRates.push(m.hostCpuPps);
      for (const w of m.warnings) r.warnings.add(w);
      if (m.device !== null) r.device.push(m.device);
    }
  }
}

/** One bench row per placement, the all-CPU run as baseline; then whether the choice was fastest or within 5%. */
function report(report: BenchReport, section: BenchSection, rows: Map<string, Row>, p: Planned, k: Knobs, batch: number): void {
  const cpu = rows.get('cpu');
  const all = [...rows.values()].sort((a, b) => (a.place === 'cpu' ? -1 : b.place === 'cpu' ? 1 : 0));
  const label = (r: Row): string => `${r.names.join(' = ')}: ${p.name} on ${r.place}`;
  for (const r of all.filter((x) => x.rates.length === 0)) report.note(section, `${label(r)}: not measured: ${r.failed ?? 'no run'}${Number.isNaN(r.predicted) ? `; ${r.bottleneck}` : ''}`);
  const list = all.filter((x) => x.rates.length > 0);
  for (const r of list) {
    const m = median(r.rates);
    const dev = r.device.length === 0 ? {} : deviceExtra(r.device);
    report.add(section, {
      name: label(r),
      value: m,
      unit: 'pkt/s',
      ...(cpu !== undefined && r !== cpu ? { baseline: label(cpu) } : {}),
      extra: {
        predicted: Number.isNaN(r.predicted) ? 'none (unusable in the plan)' : r.predicted,
        error: Number.isNaN(r.predicted) ? 'n/a' : `${(((m - r.predicted) / r.predicted) * 100).toFixed(0)}%`,
        min: Math.min(...r.rates),
        max: Math.max(...r.rates),
        ...hostCpuExtra(r),
        bottleneck: r.bottleneck,
        ...(r.place.includes('fpga') ? { packetsPerRun: Math.min(k.fpgaPackets, k.packets) } : {}),
        ...dev,
        ...(r.warnings.size > 0 ? { warnings: [...r.warnings].join(' | ') } : {}),
      },
    });
  }
  const chosen = rows.get(p.report.chosen.placement[p.name]);
  if (chosen === undefined || chosen.rates.length === 0) {
    report.note(section, `planner's choice (${p.name} on ${p.report.chosen.placement[p.name]}): NOT measured${chosen?.failed === undefined ? '' : `: ${chosen.failed}`}`);
    return;
  }
  const fastest = list.reduce((a, b) => (median(b.rates) > median(a.rates) ? b : a));
  const gap = median(chosen.rates) / median(fastest.rates);
  const verdict = chosen === fastest ? 'the fastest measured' : gap >= 0.95 ? `within 5% of the fastest (${label(fastest)}, ${(100 * (1 - gap)).toFixed(1)}% slower)` : `NOT within 5%: ${(100 * (1 - gap)).toFixed(1)}% slower than ${label(fastest)}`;
  // On a loaded machine the rounds spread widely: say whether the two rows' ranges overlap.
  const overlap = chosen === fastest ? '' : Math.max(...chosen.rates) >= Math.min(...fastest.rates) ? '; their measured ranges overlap' : '; their measured ranges do not overlap';
  report.note(section, `planner's choice (${p.name} on ${chosen.place}, predicted ${formatRate(chosen.predicted)}, batch ${batch}): ${verdict}${overlap}`);
}

/**
 * The rate of the host thread's CPU time and the prediction's error against it: on a loaded
 * machine the wall rate is mostly the wait for a core, which the calibration (timed by the same
 * clock) leaves out on purpose. Comparable where the host thread is the bottleneck; where a device
 * is (a simulated FPGA, a paced worker), the host thread idles and this rate reads high.
 */
function hostCpuExtra(r: Row): Record<string, string | number> {
  if (r.hostCpuRates.length === 0) return {};
  const m = median(r.hostCpuRates);
  return {
    hostThreadCpuRate: m,
    ...(Number.isNaN(r.predicted) ? {} : { errorVsHostCpu: `${(((m - r.predicted) / r.predicted) * 100).toFixed(0)}%` }),
  };
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

/** What a plan says of its inputs: where the shares come from, the composition factor, the host sides it charges. */
function planInputs(p: Planned): string {
  const rt = p.problem.elements[p.rt];
  const sides = rt.candidates
    .filter((c) => c.split === undefined)
    .map((c) => `${c.label} ${c.hostSide === undefined ? 'none' : `${(c.hostSide.perBatchNs / 1000).toFixed(1)} us/batch + ${c.hostSide.perItemNs.toFixed(1)} ns/pkt (${c.hostSide.source})`}`);
  return `shares ${p.problem.shareSource}, host-thread work x ${p.problem.hostFactor.toFixed(2)}, ${p.problem.hostCores} cores; ${p.name} host side: ${sides.join('; ')}`;
}

/** The modelled device's host side, as measured on it: the hand-off to the worker is what this is for. */
function sideNote(c: KernelSideCost): string {
  const per = c.samples.map((x) => `batch ${x.batch}: ${(x.ns / 1000).toFixed(1)} us`).join(', ');
  return `${c.className}@null host side calibrated on the worker device itself: ${(c.perBatchNs / 1000).toFixed(1)} us/batch + ${c.perItemNs.toFixed(2)} ns/pkt (${per}; fit error ${(c.fit.relativeError * 100).toFixed(0)}%)`;
}

/**
 * `hetbox calibrate ARGS` as a user runs it: a process of its own, before the plan. In this
 * process, the host figures came out ~3-4x high after the webgpu and fpga kernel calibrations
 * (the host thread's CPU clock then counted work the opened devices left on it: the all-CPU
 * prediction read 2.4 Mpps against 8.6 Mpps of host-thread CPU rate measured), where the same
 * calibration run by the CLI predicts within ~15% of it.
 */
function calibrate(args: readonly string[], env: NodeJS.ProcessEnv): void {
  const cli = path.join(projectRoot(), 'dist', 'app', 'cli', 'hetbox.js');
  execFileSync(process.execPath, [cli, 'calibrate', ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The costs file's profiles for the modelled GPU: every kernel a section's configuration may place on it. */
const MODELLED_KERNELS = ['ip-lookup', 'acl-match'] as const;

/**
 * The modelled-GPU sections of one subject: one modelled device for every run (its host-side
 * calibration included: each run loads and releases its structure on it), planned, run and judged
 * at each of the knobs' GPU batch sizes.
 */
async function modelledGpuSections(bench: BenchReport, k: Knobs, dir: string, env: NodeJS.ProcessEnv, subject: Subject, configFile: string, sideCapture: string): Promise<void> {
  const gpuOptions: NullBackendOptions = { description: 'modelled data-center GPU over PCIe 4 (null, worker thread)', costs: { ...MODELLED_GPU }, device: 'worker' };
  const gpu = new NullBackend(gpuOptions);
  const backends = (name: BackendName): Promise<Backend> => (name === 'null' ? Promise.resolve(gpu) : getBackend(name));
  try {
    // The hand-off to the worker (the doorbell and the wake for its answer, slot copies, the runner's promise) timed
    // on this very device, as hetbox calibrate --config times a backend's: its time is the
    // model's pacing on another thread, so no kernel time is taken off (kernelNs 0, a real device's).
    const t2 = performance.now();
    const sides = await calibrateKernelSides(
      [{ className: subject.className, spec: subject.spec, backend: 'null', device: gpuOptions.description ?? 'null', backendArg: 'null', kernelNs: () => 0, file: configFile, backends }],
      { capture: sideCapture, batches: [256, 1024, 4096], repeats: 5, replays: 20 },
    );
    const side = sides.costs[0];
    const costs: CostsFile = {
      profiles: MODELLED_KERNELS.map((kernel) => ({ kernel, backend: 'null', ...MODELLED_GPU })),
      hostElements: { byClass: {} },
      hostSide: side === undefined ? {} : { [`${subject.className}@null`]: { perItemNs: side.perItemNs, perBatchNs: side.perBatchNs } },
    };
    const sideText = side === undefined ? `${subject.className}@null host side NOT calibrated (charged 0): ${sides.skipped.join('; ')}` : sideNote(side);
    const sideSeconds = (performance.now() - t2) / 1000;
    for (const batch of k.gpuBatches) {
      const section = bench.section(`planner with a modelled data-center GPU (null backend, worker-thread device paced to ${MODELLED_GPU.perBatchNs / 1000} us/batch + ${MODELLED_GPU.perItemNs} ns/item + ${MODELLED_GPU.perByteTransferNs} ns/byte): ${subject.what}, batch ${batch}`);
      const p = await plan(subject, configFile, ['cpu', 'null'], batch, env, costs);
      bench.note(section, `${p.report.method} search, ${p.report.evaluated} placements; the null profile and host side are the costs file's (as hetbox plan --costs), cpu's calibrated; ${sideText} in ${sideSeconds.toFixed(1)} s; ${load()}`);
      bench.note(section, `plan inputs: ${planInputs(p)}`);
      const rows = rowsOf(p, batch, []);
      await runRows(subject, rows, k, batch, dir, backends);
      report(bench, section, rows, p, k, batch);
      bench.note(section, `measured: as above; modelled/worker us per batch: the device's modelled time per batch and the worker thread's real compute for it (limit=worker: the worker, not the model, was slower; lateUs: by how much per batch); ${load()}`);
    }
  } finally {
    await gpu.dispose();
  }
  await disposeBackends();
}

export async function run(bench: BenchReport): Promise<void> {
  const k = knobs();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-bench-planner-'));
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const table = sharedData('routes/bart-prefixes-2023.txt.gz');
  const capture = generatedCapture(ROUTER_CAPTURE);
  const rules = path.join(projectRoot(), 'examples', 'data', 'firewall.rules');
  const hostCapture = path.join(projectRoot(), 'examples', 'data', 'input.pcap');
  const configFile = path.join(dir, 'router.click');
  const router: Subject = {
    name: 'rt',
    className: 'IPLookup',
    kernel: 'ip-lookup',
    spec: `IPLookup(FIB "${table}")`,
    splittable: true,
    what: `router (Classifier, CheckIPHeader, IPLookup, DecIPTTL) with the full 2023 table (${FULL_TABLE_NEXT_HOPS} synthetic next hops), ${path.basename(capture)} (random destinations)`,
    config: (packets, place) => routerConfig(capture, table, packets, place),
  };
  writeFileSync(configFile, router.config(k.packets, 'cpu'));
  // Kernels first (cpu always: the second half plans against it), so the config's calibration
  // then times the lookup's host side on every backend with a kernel calibration.
  const kernelBackends = k.halves.includes('machine') ? k.backends : ['cpu'];
  const t0 = performance.now();
  calibrate(['--backends', kernelBackends.join(','), '--batches', '64,256,1024,4096', '--repeats', '3', '--routes', table, '--capture', capture, '--acl-rules', rules, '--hosts', 'off', '--json'], env);
  const kernelSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  // The config's host elements and host sides on this CPU, its shares and composition, in this run: both halves' plans use them.
  calibrate(['--backends', '', '--elements', '', '--config', configFile, '--batches', '64,256,1024', '--repeats', '7', '--replays', '20', '--capture', hostCapture, '--json'], env);
  const hostSeconds = (performance.now() - t1) / 1000;

  if (k.halves.includes('machine')) {
    const section = bench.section(`planner on this machine's backends (${k.backends.join('+')}): ${router.what}, batch ${k.batch}`);
    const p = await plan(router, configFile, k.backends, k.batch, env);
    bench.note(section, `kernels calibrated in ${kernelSeconds.toFixed(1)} s, host elements and host sides in ${hostSeconds.toFixed(1)} s; ${p.report.method} search, ${p.report.evaluated} placements; ${load()}; webgpu is lavapipe, fpga is Verilator (software devices: on the CPU cores, beside the host thread)`);
    bench.note(section, `plan inputs: ${planInputs(p)}`);
    const skipped: string[] = [];
    const rows = rowsOf(p, k.batch, skipped);
    if (skipped.length > 0) bench.note(section, `not run: ${skipped.join('; ')}`);
    await runRows(router, rows, k, k.batch, dir, getBackend);
    report(bench, section, rows, p, k, k.batch);
    bench.note(section, `measured: run phase (Router.run packetsPerSecond), median of ${k.rounds} interleaved rounds of ${k.packets} packets (fpga placements ${Math.min(k.fpgaPackets, k.packets)}) after a warm-up round of ${WARM_UP_PACKETS}; predicted: the plan's model with this run's calibration; ${load()}`);
    await disposeBackends();
  }

  if (k.halves.includes('gpu')) await modelledGpuSections(bench, k, dir, env, router, configFile, hostCapture);

  if (k.halves.includes('firewall')) {
    // The host side of the ACL depends on how far each packet scans: it is calibrated on the
    // first 20,000 packets of the rows' own capture (the same generator and seed), not on input.pcap.
    const sideCapture = generatedCapture({ ...ROUTER_CAPTURE, packets: 20_000 });
    const fwConfigFile = path.join(dir, 'firewall.click');
    const firewall: Subject = {
      name: 'fw',
      className: 'ACL',
      kernel: 'acl-match',
      spec: `ACL(RULES "${rules}")`,
      splittable: false,
      what: `router with a firewall (ACL of examples/data/firewall.rules, first match, before the lookup on the CPU), ${path.basename(capture)}`,
      config: (packets, place) => firewallConfig(capture, table, rules, packets, place),
    };
    writeFileSync(fwConfigFile, firewall.config(k.packets, 'cpu'));
    calibrate(['--backends', '', '--elements', '', '--config', fwConfigFile, '--batches', '64,256,1024', '--repeats', '7', '--replays', '20', '--capture', sideCapture, '--json'], env);
    await modelledGpuSections(bench, k, dir, env, firewall, fwConfigFile, sideCapture);
  }
}
