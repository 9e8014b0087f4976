/**
 * Host element calibration: what an element without kernels costs on this machine's CPU, measured
 * the way the planner charges it (per source batch, scheduler hops included), so `hetbox plan`
 * stops guessing the host side (issue 11: the built-in 10 ns/packet made every prediction 13-60x
 * too fast).
 *
 * Method, per element spec `Class(args)` and batch size B, on real packets (a capture replayed):
 *   base  = FromDump -> [prefix ->] Discard
 *   test  = FromDump -> [prefix ->] x :: Class(args) -> Discard (every output to a Discard)
 * time per source batch = the host thread's CPU time / batches of each run (app/thread-cpu-clock.ts;
 * the wall time where that clock cannot be read: on a loaded machine the wall time is mostly the
 * wait for a core and moved host figures 2-10x between runs, issue 11); the element's cost is test - base
 * (the low quantile, `LOW_QUANTILE`, over interleaved rounds of each round's difference, so load changes hit both alike and a spike does not count), fitted over the batch sizes
 * with the kernels' least-squares fit (`fitBatchCost`). The prefix is `Strip(14)` when the
 * element passes more packets after it (IP-layer elements drop raw Ethernet frames, and a cheap
 * drop path is not what they cost in a router), else none. The source's own figure (read, batch,
 * the scheduler's run loop, one Discard) is the base pipeline itself, charged to `FromDump`; so
 * `Discard` is recorded at 0 (its cost is inside the source's figure: a source needs a sink, so
 * the two cannot be timed apart).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from '../core/router.js';
import { getBackend } from '../core/backend-registry.js';
import type { Backend, BackendName } from '../core/backend.js';
import { fitBatchCost, lowQuantile, type BatchSample, type LinearFit } from '../core/planner/calibration.js';
import { elementLibrary } from '../elements/index.js';
import { readThreadCpu, threadCpuAvailable, threadCpuSince } from './thread-cpu-clock.js';

/** Element specs calibrated by default: the host elements of the example configurations. */
export const DEFAULT_HOST_ELEMENTS: readonly string[] = [
  'Counter',
  'Classifier(12/0800, -)',
  'Strip(14)',
  'Unstrip(14)',
  'CheckIPHeader',
  'DecIPTTL',
  'Paint(1)',
  'EtherEncap(0x0800, 00:00:00:00:00:01, 00:00:00:00:00:02)',
  'Queue',
  'Tee(2)',
  'ToDump(FILE "$TMP/calibrate.pcap")',
];

export interface HostCalibratedCost {
  className: string;
  /** The spec timed, e.g. `Classifier(12/0800, -)`. */
  spec: string;
  /** What ran before it (`Strip(14)` or empty). */
  prefix: string;
  perItemNs: number;
  perBatchNs: number;
  fit: LinearFit;
  samples: BatchSample[];
}

export interface HostCalibration {
  data: string;
  batches: number[];
  costs: HostCalibratedCost[];
  /** Specs that could not be timed, with the reason (a visible gap, not a silent estimate). */
  skipped: string[];
}

export interface HostCalibrationOptions {
  capture: string;
  batches: readonly number[];
  /** Interleaved rounds per batch size; their low quantile counts. */
  repeats: number;
  /** Capture replays per run. */
  replays: number;
}

const SOURCE = 'FromDump';
const PREFIXES = ['', 'Strip(14)'] as const;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function className(spec: string): string {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(spec);
  if (m === null) throw new Error(`host calibration: '${spec}' is not an element spec`);
  return m[1];
}

interface Pipeline {
  text: string;
}

/**
 * The pipeline text for `spec` (or the base without it), with `outputs` of x each to a Discard.
 * The graph reports an unconnected output by port; `connect` grows `outputs` until it builds.
 */
function pipeline(capture: string, replays: number, prefix: string, spec: string | null, outputs: number): Pipeline {
  // Absolute: the pipeline's file name may be in a configuration's directory (its relative FIB files).
  capture = path.resolve(capture);
  const src = `src :: ${SOURCE}(FILE "${capture}", STOP true, REPEAT ${replays})`;
  const pre = prefix === '' ? '' : ` -> ${prefix}`;
  if (spec === null) return { text: `${src}${pre} -> Discard;\n` };
  const lines = [`${src}${pre} -> x :: ${spec};`];
  for (let o = 0; o < outputs; o++) lines.push(`x[${o}] -> Discard;`);
  return { text: `${lines.join('\n')}\n` };
}

interface Timed {
  /**
   * The host thread's time per source batch: its CPU time where this thread's clock can be read
   * (`threadCpuAvailable`; load adds little to it), else the wall time of the run.
   */
  nsPerBatch: number;
  /** Packets x sent on, over all its outputs (chooses the prefix). */
  passed: number;
  /** Packets into x per source batch (what its kernel saw per run). */
  itemsPerBatch: number;
  /** Wall time of the run, ms. */
  elapsedMs: number;
}

/** Where a pipeline's relative file names resolve (a configuration's directory for its own element specs). */
const DEFAULT_FILE = 'host-calibration.click';

/** Where a pipeline's backends come from: the registry's, unless a target brings its own device. */
type BackendSource = (name: BackendName) => Promise<Backend>;

async function time(text: string, batch: number, file = DEFAULT_FILE, backends: BackendSource = getBackend): Promise<Timed> {
  const router = Router.fromText(text, file, elementLibrary, { batchSize: batch, log: { info: () => undefined, warn: () => undefined }, backends });
  await router.initialize();
  try {
    const before = readThreadCpu();
    const s = await router.run();
    const cpu = threadCpuSince(before);
    const x = s.accounting.find((a) => a.name === 'x');
    const batches = Math.max(1, s.batches);
    const wallNsPerBatch = (s.elapsedMs * 1e6) / batches;
    return {
      nsPerBatch: cpu === null ? wallNsPerBatch : cpu.onCpuNs / batches,
      passed: x === undefined ? 0 : x.out.reduce((a, b) => a + b, 0),
      itemsPerBatch: x === undefined ? 0 : x.in.reduce((a, b) => a + b, 0) / batches,
      elapsedMs: s.elapsedMs,
    };
  } finally {
    await router.cleanup();
  }
}

/** How many outputs `spec` needs connected: the graph names the first unconnected one. */
function outputsNeeded(capture: string, prefix: string, spec: string, file = DEFAULT_FILE): number {
  for (let outputs = 0; outputs <= 16; outputs++) {
    try {
      Router.fromText(pipeline(capture, 1, prefix, spec, outputs).text, file, elementLibrary);
      return outputs;
    } catch (e) {
      if (!/output \d+ of 'x' .* is not connected/.test((e as Error).message)) throw e;
    }
  }
  throw new Error(`${spec}: more than 16 outputs`);
}

/** Discarded runs of the base pipeline before the timed rounds (see calibrateHostElements). */
const WARM_UP_RUNS = 12;

export async function calibrateHostElements(specs: readonly string[], opts: HostCalibrationOptions): Promise<HostCalibration> {
  if (opts.batches.length < 2) throw new Error('calibrate: at least two batch sizes are needed to separate per-batch from per-item cost');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hetbox-host-cal-'));
  const skipped: string[] = [];
  try {
    // Choose each spec's prefix and output count with one short run of each prefix.
    const plans: { spec: string; cls: string; prefix: string; outputs: number }[] = [];
    for (const raw of specs) {
      const spec = raw.replaceAll('$TMP', tmp);
      let best: { prefix: string; outputs: number; passed: number } | null = null;
      let problem = '';
      for (const prefix of PREFIXES) {
        try {
          const outputs = outputsNeeded(opts.capture, prefix, spec);
          const t = await time(pipeline(opts.capture, 1, prefix, spec, outputs).text, opts.batches[0]);
          if (best === null || t.passed > best.passed) best = { prefix, outputs, passed: t.passed };
        } catch (e) {
          problem = (e as Error).message;
        }
      }
      if (best === null) skipped.push(`${raw}: ${problem}`);
      else plans.push({ spec, cls: className(spec), prefix: best.prefix, outputs: best.outputs });
    }
    const prefixes = [...new Set(plans.map((p) => p.prefix))];
    // times[key][batch index] = per-round ns per batch; key '' + prefix is a base pipeline.
    const times = new Map<string, number[][]>();
    const record = (key: string, bi: number, ns: number): void => {
      const rows = times.get(key) ?? opts.batches.map(() => []);
      rows[bi].push(ns);
      times.set(key, rows);
    };
    // Warm-up, discarded: the first runs in a process cost several times the steady state (a
    // 92k-packet FromDump -> Discard run took 55, 55, 24, 14, then 4-6 ms of thread CPU as V8's
    // heap and code settled), and a few rounds of each pipeline otherwise all land in that phase
    // (FromDump fitted at 300-560 ns a packet against ~45 in a long run).
    for (let w = 0; w < WARM_UP_RUNS; w++) await time(pipeline(opts.capture, opts.replays, '', null, 0).text, opts.batches[w % opts.batches.length]);
    for (let round = 0; round < opts.repeats; round++) {
      for (const [bi, batch] of opts.batches.entries()) {
        // Base first, then each element: every round sees all of them under the same load.
        for (const prefix of new Set(['', ...prefixes])) record(`base:${prefix}`, bi, (await time(pipeline(opts.capture, opts.replays, prefix, null, 0).text, batch)).nsPerBatch);
        for (const p of plans) record(`x:${p.spec}`, bi, (await time(pipeline(opts.capture, opts.replays, p.prefix, p.spec, p.outputs).text, batch)).nsPerBatch);
      }
    }
    const lows = (key: string): number[] => times.get(key)!.map((xs) => lowQuantile(xs));
    // Per round the element's run minus the base run of the same round, then the low quantile:
    // load drifting between rounds cancels out, and a spike in the element's run does not count.
    const pairedMedians = (key: string, baseKey: string): number[] => {
      const b = times.get(baseKey)!;
      return times.get(key)!.map((xs, bi) => lowQuantile(xs.map((x, r) => x - b[bi][r])));
    };
    const costs: HostCalibratedCost[] = [];
    const add = (cls: string, spec: string, prefix: string, ns: number[]): void => {
      const samples = opts.batches.map((batch, i) => ({ batch, ns: Math.max(0, ns[i]) }));
      const fit = fitBatchCost(samples);
      costs.push({ className: cls, spec, prefix, perItemNs: fit.perItemNs, perBatchNs: fit.perBatchNs, fit, samples });
    };
    // The source: reading, batching, the run loop and one sink.
    const base = lows('base:');
    add(SOURCE, `${SOURCE} -> Discard`, '', base);
    add('Discard', 'Discard (inside the FromDump figure)', '', base.map(() => 0));
    for (const p of plans) {
      add(p.cls, p.spec.replaceAll(tmp, '$TMP'), p.prefix, pairedMedians(`x:${p.spec}`, `base:${p.prefix}`));
    }
    return { data: opts.capture, batches: [...opts.batches], costs, skipped };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A kernel element's host side on one backend: what to run, and how much of the run is its kernel. */
export interface KernelSideTarget {
  className: string;
  /** The element spec without BACKEND or PLACE, e.g. `IPLookup(FIB "routes.txt", FORMAT click)`. */
  spec: string;
  /** Backend label (`cpu`, `webgpu`, `fpga`). */
  backend: string;
  /** The device it is measured on (the calibration store's key for it). */
  device: string;
  /** `BACKEND x` as the element takes it; undefined for the inline CPU form (what a router without BACKEND runs). */
  backendArg: string | undefined;
  /**
   * The kernel's own calibrated time for `items` items when it runs on the host thread's clock
   * (the CPU form, a software device); 0 where it runs elsewhere (a real device's time overlaps
   * the host thread; the null backend's is simulated).
   */
  kernelNs(items: number): number;
  /**
   * True when the kernel computes on the host thread itself (the inline CPU form): its time is then
   * inside the thread's CPU time too. A software device computes on its own threads (lavapipe's
   * workers, the Verilator process), so with the thread's CPU clock nothing is taken off for it:
   * what the host thread spends waiting for it (Dawn polls a pending map on the host thread) is
   * its host side. Wall-clock timing (no thread clock) takes `kernelNs` off in every case.
   */
  kernelOnHostThread?: boolean;
  /** File name the pipeline is read as, so relative file arguments resolve as in the configuration. */
  file?: string;
  /**
   * The backends the pipeline runs on, when not the registry's: a device configured by options
   * (the null backend's worker-thread device with a modelled GPU's costs) is calibrated on the
   * very instance the measured runs use.
   */
  backends?: BackendSource;
}

export interface KernelSideSample extends BatchSample {
  /** The pipeline with the element minus without it, ns per source batch. */
  elementNs: number;
  /** The kernel's calibrated time subtracted from it, ns per source batch. */
  kernelNs: number;
}

export interface KernelSideCost {
  className: string;
  backend: string;
  device: string;
  spec: string;
  prefix: string;
  perItemNs: number;
  perBatchNs: number;
  fit: LinearFit;
  samples: KernelSideSample[];
}

export interface KernelSideCalibration {
  costs: KernelSideCost[];
  skipped: string[];
}

/** Seconds one timed run of a kernel element should take at most (a slow simulator gets fewer replays). */
const KERNEL_RUN_BUDGET_S = 0.15;

/**
 * The host side of kernel elements (issue 11): per target (class, backend) and batch size,
 *   base = FromDump -> [prefix ->] Discard
 *   test = FromDump -> [prefix ->] x :: Class(args[, BACKEND b]) -> Discard...
 * interleaved as for host elements; the element's figure (test - base, low quantile of the per-round
 * differences) minus its kernel's calibrated time for the items it saw, where that time is on the
 * host thread's clock, is the host side: the column gathering, result routing, accounting and
 * scheduler hop of the element, and for a backend the runner's copies and promise. Fitted over
 * the batch sizes like the rest. Negative residues (the kernel calibrated slower than it ran in
 * the element) count as 0.
 */
export async function calibrateKernelSides(targets: readonly KernelSideTarget[], opts: HostCalibrationOptions): Promise<KernelSideCalibration> {
  if (opts.batches.length < 2) throw new Error('calibrate: at least two batch sizes are needed to separate per-batch from per-item cost');
  const skipped: string[] = [];
  const plans: { t: KernelSideTarget; text: (replays: number) => string; base: (replays: number) => string; prefix: string; replays: number }[] = [];
  for (const t of targets) {
    const spec = t.backendArg === undefined ? t.spec : withBackend(t.spec, t.backendArg);
    let best: { prefix: string; outputs: number; passed: number; msPerReplay: number } | null = null;
    let problem = '';
    for (const prefix of PREFIXES) {
      try {
        const outputs = outputsNeeded(opts.capture, prefix, spec, t.file);
        const probeText = pipeline(opts.capture, 1, prefix, spec, outputs).text;
        // Twice: the first run of a backend compiles its kernel; the second says what a replay costs.
        await time(probeText, opts.batches[0], t.file, t.backends);
        const probe = await time(probeText, opts.batches[0], t.file, t.backends);
        // Ties go to Strip(14): a kernel element reads IP fields, and on Ethernet bytes it would look up garbage.
        if (best === null || probe.passed >= best.passed) best = { prefix, outputs, passed: probe.passed, msPerReplay: probe.elapsedMs };
      } catch (e) {
        problem = (e as Error).message;
      }
    }
    if (best === null) {
      skipped.push(`${t.className} on ${t.backend}: ${problem}`);
      continue;
    }
    const b = best;
    // A simulated FPGA runs a replay in seconds: fewer replays keep the calibration's time in bounds.
    const replays = Math.max(1, Math.min(opts.replays, Math.floor((KERNEL_RUN_BUDGET_S * 1000) / Math.max(b.msPerReplay, 1e-3))));
    plans.push({
      t,
      prefix: b.prefix,
      replays,
      text: (r) => pipeline(opts.capture, r, b.prefix, spec, b.outputs).text,
      base: (r) => pipeline(opts.capture, r, b.prefix, null, 0).text,
    });
  }
  // rows[plan][batch] = per-round (element ns, kernel ns) pairs.
  const rows = plans.map(() => opts.batches.map(() => [] as { elementNs: number; kernelNs: number }[]));
  for (let round = 0; round < opts.repeats; round++) {
    for (const [bi, batch] of opts.batches.entries()) {
      // One base run per (prefix, replays) in each round and batch size, shared by the targets that
      // run like it: the same moment's load, fewer runs.
      const bases = new Map<string, number>();
      for (const [pi, p] of plans.entries()) {
        const key = `${p.prefix}|${p.replays}|${p.t.file ?? ''}`;
        let base = bases.get(key);
        if (base === undefined) {
          base = (await time(p.base(p.replays), batch, p.t.file, p.t.backends)).nsPerBatch;
          bases.set(key, base);
        }
        const test = await time(p.text(p.replays), batch, p.t.file, p.t.backends);
        const onClock = !threadCpuAvailable || p.t.kernelOnHostThread === true;
        rows[pi][bi].push({ elementNs: test.nsPerBatch - base, kernelNs: onClock ? p.t.kernelNs(test.itemsPerBatch) : 0 });
      }
    }
  }
  const costs = plans.map((p, pi): KernelSideCost => {
    const samples = opts.batches.map((batch, bi): KernelSideSample => {
      const rs = rows[pi][bi];
      const elementNs = lowQuantile(rs.map((r) => r.elementNs));
      const kernelNs = median(rs.map((r) => r.kernelNs));
      return { batch, ns: Math.max(0, elementNs - kernelNs), elementNs, kernelNs };
    });
    const fit = fitBatchCost(samples);
    return { className: p.t.className, backend: p.t.backend, device: p.t.device, spec: p.t.spec, prefix: p.prefix, perItemNs: fit.perItemNs, perBatchNs: fit.perBatchNs, fit, samples };
  });
  return { costs, skipped };
}

/** `Class(args)` with `BACKEND b` added to its arguments. */
function withBackend(spec: string, backend: string): string {
  const open = spec.indexOf('(');
  if (open < 0) return `${spec}(BACKEND ${backend})`;
  const inner = spec.slice(open + 1, spec.lastIndexOf(')')).trim();
  return `${spec.slice(0, open)}(${inner === '' ? '' : `${inner}, `}BACKEND ${backend})`;
}
