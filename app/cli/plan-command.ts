/**
 * `hetbox plan CONFIG [--json] [--objective throughput|latency] [--rate PPS] [--latency-bound US]
 *                     [--batch N] [--costs FILE] [--backends LIST] [--dot FILE] [--svg FILE]`:
 * where each element of a configuration should run, and why. Every candidate backend is shown
 * per element with its predicted cost and why it lost; the chosen placement is compared with
 * the all-CPU, all-accelerator and greedy ones. Nothing runs: backends are only detected and
 * asked for their costs (or a costs file models them, e.g. a real GPU on the null backend).
 */
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { instance as vizInstance } from '@viz-js/viz';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { backendAvailability, backendNames, backendVariants, disposeBackends, getBackend } from '../../core/backend-registry.js';
import { BUILT_IN_HOST_COST, CostBook, parseCostsFile, type CostProfile, type CostsFile } from '../../core/planner/cost-profile.js';
import { buildPlacementProblem, candidateLabel, type BackendOption, type PlacementProblem } from '../../core/planner/placement-problem.js';
import { explainPlan, formatPlanReport, planReportJson } from '../../core/planner/explain.js';
import { placementDot } from '../../core/planner/placement-dot.js';
import type { CalibratedProfile } from '../../core/planner/calibration.js';
import { calibratedProfiles, calibrationFile, formatLoad, overloaded, readCalibrationStore, storedGraphShares, type CalibrationLoad, type CalibrationStore, type StoredGraphShares } from '../../core/planner/calibration-store.js';
import { configHash } from '../traffic-shares.js';
import { formatNs, type Objective } from '../../core/planner/search.js';
import type { Backend } from '../../core/backend.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';

const NULL_BACKEND = 'null';

const positiveNumber = z.coerce.number().finite().positive();
/** A packet rate: a number, optionally with k, M or G (`--rate 10M`). */
const packetRate = z
  .string()
  .regex(/^[0-9]*\.?[0-9]+(e[0-9]+)?[kMG]?$/)
  .transform((s) => {
    const scale: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9 };
    const last = s[s.length - 1];
    return last in scale ? Number(s.slice(0, -1)) * scale[last] : Number(s);
  })
  .pipe(z.number().finite().positive());
const positiveInt = z.coerce.number().int().positive().max(1 << 20);

function flagValue<T>(schema: z.ZodType<T>, flag: string, text: string | undefined, expected: string): T | undefined {
  if (text === undefined) return undefined;
  const r = schema.safeParse(text);
  if (!r.success) throw new UsageError(`${flag}: expected ${expected}, got '${text}'`);
  return r.data;
}

/**
 * The backends to plan over, as BackendOptions: detected, with their cost profiles: this
 * machine's calibration of the same device when there is one, else the backend's own.
 */
export async function backendOptions(names: readonly string[], calibration: CalibrationStore | null): Promise<BackendOption[]> {
  const out: BackendOption[] = [];
  for (const name of names) {
    const variants = backendVariants(name);
    for (const variant of variants.length === 0 ? [undefined] : variants) {
      const availability = await backendAvailability(name, variant);
      let backend: Backend | null = null;
      let calibrated: CalibratedProfile[] = [];
      if (availability.available) {
        backend = await getBackend(name, variant);
        calibrated = calibratedProfiles(calibration, candidateLabel(name, variant), availability.device.description) ?? [];
      }
      out.push({
        backend: name,
        ...(variant === undefined ? {} : { variant }),
        availability: availability.available ? { available: true } : { available: false, reason: availability.reason },
        ...(availability.available && availability.device.sharesHostCpu === true ? { sharesHostCpu: true } : {}),
        ...(availability.available ? { device: availability.device.description } : {}),
        costs: (kernel: string): CostProfile | undefined => {
          if (backend === null) return undefined;
          const measured = calibrated.find((p) => p.kernel === kernel);
          if (measured !== undefined) return measured;
          const c = backend.costs(kernel);
          return {
            kernel,
            backend: name,
            ...(variant === undefined ? {} : { variant }),
            perItemNs: c.perItemNs,
            perBatchNs: c.perBatchNs,
            perByteTransferNs: c.perByteTransferNs,
            capacityBytes: c.capacityBytes,
            source: c.source === 'measured' ? 'measured' : 'backend default',
          };
        },
      });
    }
  }
  return out;
}

/**
 * What this machine's calibration store adds to a plan of `config`: host element costs and
 * kernel elements' host sides (into `book`; a host side only while the device it was measured
 * with is the one here), the backends with their profiles, and the configuration's measured
 * shares and composition factor while its text is the one measured.
 */
export async function calibratedInputs(
  book: CostBook,
  names: readonly string[],
  store: CalibrationStore | null,
  config: string,
): Promise<{ options: BackendOption[]; measured: StoredGraphShares | undefined }> {
  for (const h of store?.host?.costs ?? []) book.setCalibratedHost(h.className, h);
  const options = await backendOptions(names, store);
  for (const h of store?.hostSide ?? []) {
    const o = options.find((x) => candidateLabel(x.backend, x.variant) === h.backend);
    if (o?.device !== undefined && o.device === h.device) book.setCalibratedHostSide(h.className, h.backend, h);
  }
  const measured = storedGraphShares(store, path.resolve(config), configHash(readFileSync(config, 'utf8')));
  return { options, measured };
}

/**
 * The placement problem of `graph` with this machine's calibration (calibratedInputs) and its
 * cores (and the measured shares it used): what `hetbox plan` explains and the planner bench
 * measures against.
 */
export async function calibratedPlacementProblem(
  graph: Router['graph'],
  book: CostBook,
  names: readonly string[],
  store: CalibrationStore | null,
  config: string,
): Promise<{ problem: PlacementProblem; measured: StoredGraphShares | undefined }> {
  const { options, measured } = await calibratedInputs(book, names, store, config);
  const problem = buildPlacementProblem({
    graph,
    backends: options,
    book,
    ...(measured === undefined ? {} : { shares: new Map(Object.entries(measured.shares)) }),
    ...(measured?.composition === undefined ? {} : { hostFactor: measured.composition.factor }),
    hostCores: os.availableParallelism(),
  });
  return { problem, measured };
}

/**
 * The backends to consider: --backends, else every declared one but null. The null backend is
 * a stand-in with configured costs: it is a candidate only when asked for by name, given a
 * profile in the costs file (modelling a device) or named by a pin (PLACE null), never by
 * default on a real machine. A pin on a backend --backends leaves out is an error (the planner's).
 */
export function backendList(text: string | undefined, costs: CostsFile | undefined, pinned: ReadonlySet<string>): string[] {
  const known = backendNames();
  let names: string[];
  if (text === undefined) {
    const modelled = new Set((costs?.profiles ?? []).map((p) => p.backend));
    names = known.filter((n) => n !== NULL_BACKEND || modelled.has(n) || pinned.has(n));
  } else {
    names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const n of names) if (!known.includes(n)) throw new UsageError(`--backends: unknown backend '${n}' (expected ${known.join(', ')})`);
  }
  // cpu is where host elements run and every kernel falls back: always a candidate.
  return names.includes('cpu') ? names : ['cpu', ...names];
}

/**
 * `hetbox plan`, writing its report through `write` (the CLI passes stdout; tests collect it);
 * `env` says where the calibration cache is.
 */
export async function runPlan(args: string[], write: (text: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    json: { type: 'boolean', default: false },
    objective: { type: 'string', default: 'throughput' },
    rate: { type: 'string' },
    'latency-bound': { type: 'string' },
    batch: { type: 'string', default: '256' },
    costs: { type: 'string' },
    backends: { type: 'string' },
    dot: { type: 'string' },
    svg: { type: 'string' },
    splits: { type: 'string', default: 'on' },
  });
  if (positionals.length !== 1) throw new UsageError('expected one CONFIG file');
  const config = positionals[0];
  if (values.objective !== 'throughput' && values.objective !== 'latency') throw new UsageError(`--objective: expected throughput or latency, got '${values.objective}'`);
  const objective: Objective = values.objective;
  if (values.splits !== 'on' && values.splits !== 'off') throw new UsageError(`--splits: expected on or off, got '${values.splits}'`);
  const batch = flagValue(positiveInt, '--batch', values.batch, 'a positive integer up to 1048576')!;
  const ratePps = flagValue(packetRate, '--rate', values.rate, 'packets per second (a positive number, optionally with k, M or G)');
  const boundUs = flagValue(positiveNumber, '--latency-bound', values['latency-bound'], 'microseconds (a positive number)');
  let costs: CostsFile | undefined;
  if (values.costs !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.costs, 'utf8');
    } catch (e) {
      throw new Error(`--costs: cannot read ${values.costs}: ${(e as Error).message}`);
    }
    costs = parseCostsFile(text, values.costs);
  }
  const book = new CostBook(costs);
  const router = Router.fromFile(config, elementLibrary);
  const names = backendList(values.backends, costs, new Set(router.graph.nodes.flatMap((n) => (n.place === undefined ? [] : [n.place.backend]))));
  try {
    const storeFile = calibrationFile(env);
    const stored = readCalibrationStore(storeFile);
    if (stored.problem !== undefined) process.stderr.write(`hetbox plan: calibration ${stored.problem}\n`);
    const { problem, measured } = await calibratedPlacementProblem(router.graph, book, names, stored.store, config);
    const report = explainPlan(problem, {
      objective,
      batch,
      splits: values.splits === 'on',
      ...(ratePps === undefined ? {} : { ratePps }),
      ...(boundUs === undefined ? {} : { latencyBoundNs: boundUs * 1000 }),
    });
    write(values.json ? `${planReportJson(report)}\n` : `${formatPlanReport(report, config)}\n`);
    // Say where the figures came from: a plan on backend defaults is a guess, and should read as one.
    const hostNames = new Set(problem.elements.filter((e) => e.host !== undefined).map((e) => e.name));
    const calibrated = [...new Set(report.elements.filter((e) => !hostNames.has(e.name)).flatMap((e) => e.candidates.filter((c) => c.sources.includes('calibrated') && !c.backend.includes(':')).map((c) => c.backend)))];
    const notes: string[] = [
      calibrated.length > 0 ? `calibration used: ${storeFile} (${calibrated.join(', ')})` : `no calibration of this machine used (run hetbox calibrate; it would be stored in ${storeFile})`,
    ];
    // Host elements: which figures are this machine's and which are the built-in guess.
    const hostBy = (source: string): string[] => [...new Set(problem.elements.filter((e) => e.host?.source === source).map((e) => e.className))];
    const hostCalibrated = hostBy('calibrated');
    const hostEstimated = hostBy('built-in estimate');
    if (hostCalibrated.length > 0) notes.push(`host element costs calibrated: ${hostCalibrated.join(', ')}`);
    // Kernel elements' host side: calibrated per backend, or not known and charged 0.
    const sides = problem.elements.flatMap((e) => (e.host !== undefined ? [] : e.candidates.filter((c) => c.status === 'ok' && c.split === undefined).map((c) => ({ key: `${e.className}@${c.label}`, source: c.hostSide?.source }))));
    const sideKnown = [...new Set(sides.filter((x) => x.source !== undefined).map((x) => `${x.key} (${x.source})`))];
    const sideUnknown = [...new Set(sides.filter((x) => x.source === undefined).map((x) => x.key))];
    if (sideKnown.length > 0) notes.push(`kernel element host side: ${sideKnown.join(', ')}`);
    if (sideUnknown.length > 0) notes.push(`kernel element host side not calibrated, charged 0 (run hetbox calibrate --config ${config}): ${sideUnknown.join(', ')}`);
    notes.push(
      measured === undefined
        ? `packet shares: even split over outputs (run hetbox calibrate --config ${config} to measure them)`
        : `packet shares measured ${measured.measuredAt} over ${measured.packets} packets`,
    );
    if (measured !== undefined) {
      const c = measured.composition;
      notes.push(
        c === undefined
          ? `graph composition not used (${measured.compositionSkipped ?? 'not measured'}); host-thread work as timed alone`
          : `graph composition: all-CPU run ${formatNs(c.measuredNsPerBatch)}/batch measured vs ${formatNs(c.predictedNsPerBatch)} predicted from its parts at batch ${c.batch}: host-thread work x ${c.factor.toFixed(2)}`,
      );
    }
    const underLoad = loadedParts(stored.store, calibrated, hostCalibrated.length > 0, sideKnown.length > 0, measured);
    if (underLoad.length > 0) notes.push(`warning: calibrated under load (more work than cores; figures may read high, so predictions low): ${underLoad.join('; ')}`);
    if (hostEstimated.length > 0) notes.push(`host element costs estimated (built-in ${BUILT_IN_HOST_COST.perBatchNs} ns/batch + ${BUILT_IN_HOST_COST.perItemNs} ns/packet, run hetbox calibrate): ${hostEstimated.join(', ')}`);
    if (values.costs !== undefined) notes.push(`costs file: ${values.costs}`);
    if (values.dot !== undefined || values.svg !== undefined) {
      const dot = placementDot(problem, report, config);
      if (values.dot !== undefined) {
        writeFileSync(values.dot, dot);
        notes.push(`wrote ${values.dot}`);
      }
      if (values.svg !== undefined) {
        const viz = await vizInstance();
        writeFileSync(values.svg, viz.renderString(dot, { format: 'svg' }));
        notes.push(`wrote ${values.svg}`);
      }
    }
    // With --json, stdout is the report alone; what was written goes to stderr.
    if (notes.length > 0) {
      if (values.json) process.stderr.write(`${notes.join('\n')}\n`);
      else write(`${notes.join('\n')}\n`);
    }
    return 0;
  } finally {
    await disposeBackends();
  }
}

/** The calibration parts this plan used that were measured with more work than cores (their load recorded by hetbox calibrate). */
function loadedParts(store: CalibrationStore | null, kernelLabels: readonly string[], host: boolean, sides: boolean, measured: StoredGraphShares | undefined): string[] {
  const out: string[] = [];
  const add = (what: string, load: CalibrationLoad | undefined): void => {
    if (load !== undefined && overloaded(load)) out.push(`${what} (${formatLoad(load)})`);
  };
  for (const label of kernelLabels) add(`kernels on ${label}`, store?.devices[label]?.load);
  if (host) add('host elements', store?.host?.load);
  if (sides) {
    const worst = (store?.hostSide ?? []).map((h) => h.load).filter((l): l is CalibrationLoad => l !== undefined).sort((a, b) => Math.max(b.before, b.after) - Math.max(a.before, a.after))[0];
    add('kernel elements\' host sides', worst);
  }
  add('packet shares and composition', measured?.load);
  return out;
}

export function planCommand(args: string[]): Promise<number> {
  return runPlan(args, (t) => process.stdout.write(t));
}
