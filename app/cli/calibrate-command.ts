/**
 * `hetbox calibrate [--backends LIST] [--batches LIST] [--repeats N] [--routes FILE]
 *                   [--capture FILE] [--acl-rules FILE] [--hosts on|off] [--elements SPECS]
 *                   [--config FILE] [--replays N] [--json]`:
 * time every registered form of each kernel on each available backend over batch sizes
 * (32 .. 1M by default) on real data (a route table and a capture; by default the shared full
 * table and a shared capture; for acl-match the bundled examples/data/firewall.rules), fit
 * per-batch and per-item cost with the fit's error, and store the profiles per machine and
 * device in the user's cache directory, where `hetbox plan` finds them. The null backend is
 * calibrated only when named (its times are its configured ones).
 * `--backends ''` calibrates no kernel. With `--hosts on` (the default) it also times host
 * elements (app/host-calibration.ts): the default specs, `--elements` (`;`-separated specs
 * instead), plus every host element class of `--config` with its own arguments. With `--config`
 * it also times the host side of the configuration's kernel elements on every backend with a
 * kernel calibration here, measures the configuration's packet shares from a run, and its
 * all-CPU runs against the model's sum of parts (the graph-composition factor): see
 * core/planner/README.md.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { backendAvailability, backendNames, backendVariants, disposeBackends, getBackend } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import { calibrateKernel, lowQuantile, type CalibratedProfile, type KernelWorkload } from '../../core/planner/calibration.js';
import { calibrationFile, formatLoad, loadSince, machineIdentity, overloaded, saveCalibration, type CalibrationLoad } from '../../core/planner/calibration-store.js';
import { memoryReuseNote } from '../memory-reuse.js';
import { threadCpuAvailable } from '../thread-cpu-clock.js';
import { candidateLabel } from '../../core/planner/placement-problem.js';
import { formatNs } from '../../core/planner/search.js';
import { aclMatchWorkload, captureTuples, flowHashWorkload, ipLookupWorkload } from '../calibration-workloads.js';
import { calibrateHostElements, calibrateKernelSides, DEFAULT_HOST_ELEMENTS, type HostCalibration, type KernelSideCost, type KernelSideTarget } from '../host-calibration.js';
import { calibratedProfiles, readCalibrationStore, saveGraphShares, saveHostCalibration, saveHostSides } from '../../core/planner/calibration-store.js';
import { measureShares, type MeasuredShares } from '../traffic-shares.js';
import { splitKeyword } from '../../core/config/args.js';
import { CostBook } from '../../core/planner/cost-profile.js';
import { buildPlacementProblem } from '../../core/planner/placement-problem.js';
import { predict } from '../../core/planner/cost-model.js';
import { allCpuPlacement } from '../../core/planner/search.js';
import { calibratedInputs } from './plan-command.js';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';

/** 32 .. 1M, every power of 4 (enough points for a line, not hours of runs). */
export const DEFAULT_BATCHES = [32, 128, 512, 2048, 8192, 32768, 131072, 524288, 1048576];

const DEFAULT_ROUTES = 'routes/bart-prefixes-2023.txt.gz';
const DEFAULT_CAPTURE = 'pcaps/pcapplusplus/example.pcap';
/** The bundled firewall's rules (made by scripts/gen-acl-rules.ts), from the project's root. */
const DEFAULT_ACL_RULES = 'examples/data/firewall.rules';

/** The project's root (the folder with package.json above this file), or null. */
function projectDir(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
  return dir;
}

/** A file of the shared data beside the project (../shared/data), if it is there. */
function sharedData(rel: string): string | null {
  const dir = projectDir();
  if (dir === null) return null;
  const p = path.join(dir, '..', 'shared', 'data', rel);
  return existsSync(p) ? p : null;
}

function dataFile(flag: string, given: string | undefined, rel: string): string {
  if (given !== undefined) {
    if (!existsSync(given)) throw new UsageError(`${flag}: no such file '${given}'`);
    return given;
  }
  const p = sharedData(rel);
  if (p === null) throw new UsageError(`${flag}: not given, and the shared data (../shared/data/${rel}) is not beside the project`);
  return p;
}

const batchList = z
  .string()
  .transform((s) => s.split(',').map((x) => Number(x.trim())))
  .pipe(z.array(z.number().int().min(1).max(1 << 20)).min(2));

export interface CalibrationRow {
  backend: string;
  device: string;
  profiles: CalibratedProfile[];
}

export async function runCalibrate(args: string[], write: (text: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    backends: { type: 'string' },
    batches: { type: 'string' },
    repeats: { type: 'string', default: '5' },
    routes: { type: 'string' },
    capture: { type: 'string' },
    'acl-rules': { type: 'string' },
    json: { type: 'boolean', default: false },
    hosts: { type: 'string', default: 'on' },
    elements: { type: 'string' },
    config: { type: 'string' },
    replays: { type: 'string', default: '20' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const known = backendNames();
  const names = values.backends === undefined ? known.filter((n) => n !== 'null') : values.backends.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) if (!known.includes(n)) throw new UsageError(`--backends: unknown backend '${n}' (expected ${known.join(', ')})`);
  let batches = DEFAULT_BATCHES;
  if (values.batches !== undefined) {
    const r = batchList.safeParse(values.batches);
    if (!r.success) throw new UsageError(`--batches: expected two or more batch sizes 1..1048576 separated by commas, got '${values.batches}'`);
    batches = r.data;
  }
  const repeats = Number(values.repeats);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 1000) throw new UsageError(`--repeats: expected an integer 1..1000, got '${values.repeats}'`);

  if (values.hosts !== 'on' && values.hosts !== 'off') throw new UsageError(`--hosts: expected on or off, got '${values.hosts}'`);
  const replays = Number(values.replays);
  if (!Number.isInteger(replays) || replays < 1 || replays > 1000) throw new UsageError(`--replays: expected an integer 1..1000, got '${values.replays}'`);
  const hostSpecs = values.hosts === 'off' ? [] : hostElementSpecs(values.elements, values.config);

  const capture = captureTuples(dataFile('--capture', values.capture, DEFAULT_CAPTURE));
  const routesFile = dataFile('--routes', values.routes, DEFAULT_ROUTES);
  const aclRulesFile = values['acl-rules'] ?? path.join(projectDir() ?? '.', DEFAULT_ACL_RULES);
  if (!existsSync(aclRulesFile)) throw new UsageError(`--acl-rules: no such file '${aclRulesFile}'`);
  // Built once, only if some backend has a form of the kernel to time (a table or rule file to load).
  let lookup: KernelWorkload | null = null;
  let acl: KernelWorkload | null = null;
  const workloadFor = (kernel: string): KernelWorkload | null => {
    if (kernel === 'ip-lookup') return (lookup ??= ipLookupWorkload(routesFile, capture));
    if (kernel === 'flow-hash') return flowHashWorkload(capture);
    if (kernel === 'acl-match') return (acl ??= aclMatchWorkload(aclRulesFile, capture));
    return null;
  };

  const file = calibrationFile(env);
  const rows: CalibrationRow[] = [];
  const skipped: string[] = [];
  // Each part's load is stored with it, and a part calibrated with more work than cores says so.
  const warnings: string[] = [];
  const clock: CalibrationLoad['clock'] = threadCpuAvailable ? 'thread cpu' : 'wall';
  const loaded = (what: string, before: number): CalibrationLoad => {
    const load = loadSince(before, clock);
    if (overloaded(load)) warnings.push(`${what} calibrated under load (${formatLoad(load)}): more work than cores, so the figures may read high; calibrate again on a quieter machine`);
    return load;
  };
  if (!threadCpuAvailable) warnings.push(`this thread's CPU time cannot be read here (/proc/thread-self/schedstat): host figures are timed by the wall clock, which load inflates`);
  try {
    for (const name of names) {
      const variants = backendVariants(name);
      for (const variant of variants.length === 0 ? [undefined] : variants) {
        const label = candidateLabel(name, variant);
        const availability = await backendAvailability(name, variant);
        if (!availability.available) {
          skipped.push(`${label}: unavailable: ${availability.reason}`);
          continue;
        }
        const backend = await getBackend(name, variant);
        const kernelsFrom = os.loadavg()[0];
        const profiles: CalibratedProfile[] = [];
        for (const contract of kernelRegistry.kernels()) {
          if (kernelRegistry.form(contract.name, name, variant) === undefined) continue;
          const workload = workloadFor(contract.name);
          if (workload === null) {
            skipped.push(`${label}: ${contract.name}: no calibration workload for this kernel`);
            continue;
          }
          profiles.push(await calibrateKernel(backend, workload, { batches, repeats }));
        }
        if (profiles.length === 0) continue;
        saveCalibration(file, label, availability.device.description, profiles, machineIdentity(), loaded(`kernels on ${label}`, kernelsFrom));
        rows.push({ backend: label, device: availability.device.description, profiles });
      }
    }
  } finally {
    await disposeBackends();
  }
  let host: HostCalibration | null = null;
  let sides: KernelSideCost[] = [];
  let shares: MeasuredShares | null = null;
  let composition: Composition | null = null;
  try {
    if (hostSpecs.length > 0) {
      const from = os.loadavg()[0];
      host = await calibrateHostElements(hostSpecs, { capture: capture.file, batches, repeats, replays });
      saveHostCalibration(file, { data: host.data, batches: host.batches, costs: host.costs, load: loaded('host elements', from) });
      for (const s of host.skipped) skipped.push(`host ${s}`);
    }
    if (values.hosts === 'on' && values.config !== undefined) {
      const targets = await kernelSideTargets(kernelElementSpecs(values.config), file, skipped);
      if (targets.length > 0) {
        const from = os.loadavg()[0];
        const r = await calibrateKernelSides(targets, { capture: capture.file, batches, repeats, replays });
        sides = r.costs;
        const load = loaded('kernel elements\' host sides', from);
        saveHostSides(file, sides.map((c) => ({ ...c, load })));
        for (const s of r.skipped) skipped.push(`host side ${s}`);
      }
      const sharesFrom = os.loadavg()[0];
      const m = await measureShares(values.config, repeats, COMPOSITION_BATCH);
      if ('skipped' in m) skipped.push(`shares of ${values.config}: ${m.skipped}`);
      else {
        shares = m;
        let why: string | null = null;
        if (m.offCpu.length > 0) why = `${m.offCpu.join(', ')} run off the CPU as written (BACKEND or PLACE); not an all-CPU run`;
        else {
          const c = await compositionOf(values.config, m, file);
          // A factor far from 1 says the parts' calibration is off (too few rounds or replays, a part
          // that ran in another state of the JIT or the allocator than in the whole: FromDump's short
          // REPEAT runs read 25-50 or 340-570 ns a packet from one process to the next), not the
          // graph. The whole's measured run is still the better anchor for the host thread than
          // parts 5x off, so it is used, and the calibration says so.
          if (c === null) why = 'no all-CPU prediction to compare with';
          else if (!(Number.isFinite(c.factor) && c.factor > 0 && c.measuredNsPerBatch > 0 && c.predictedNsPerBatch > 0)) {
            why = `x ${c.factor} (run ${formatNs(c.measuredNsPerBatch)}/batch vs ${formatNs(c.predictedNsPerBatch)} from its parts): no factor to scale by; calibrate with more --repeats and --replays`;
          } else {
            composition = c;
            if (c.factor < COMPOSITION_RANGE[0] || c.factor > COMPOSITION_RANGE[1]) {
              warnings.push(`graph composition of ${values.config}: x ${c.factor.toFixed(2)} (run ${formatNs(c.measuredNsPerBatch)}/batch vs ${formatNs(c.predictedNsPerBatch)} from its parts) is outside ${COMPOSITION_RANGE.join('..')}: the parts' calibration is off; the measured run is used to scale them; calibrate with more --repeats and --replays`);
            }
          }
        }
        if (why !== null) skipped.push(`graph composition of ${values.config}: ${why}`);
        const load = loaded(`shares and composition of ${values.config}`, sharesFrom);
        saveGraphShares(file, m.config, { sha256: m.sha256, packets: m.packets, shares: m.shares, ...(composition === null ? {} : { composition }), ...(why === null ? {} : { compositionSkipped: why }), load });
      }
    }
  } finally {
    await disposeBackends();
  }

  if (values.json) {
    write(`${JSON.stringify({ file, batches, repeats, clock, memory: memoryReuseNote(), calibrated: rows, host: host?.costs ?? [], hostSide: sides, shares, composition, skipped, warnings }, null, 2)}\n`);
    for (const w of warnings) process.stderr.write(`hetbox calibrate: warning: ${w}\n`);
    return 0;
  }
  const lines = [`calibration (batches ${batches.join(', ')}; lower quarter of ${repeats} interleaved rounds; host thread timed by its ${clock} clock) stored in ${file}`, memoryReuseNote()];
  for (const r of rows) {
    lines.push(`${r.backend} (${r.device})`);
    for (const p of r.profiles) {
      lines.push(
        `  ${p.kernel.padEnd(10)} ${formatNs(p.perBatchNs).padStart(10)}/batch + ${p.perItemNs.toFixed(2).padStart(8)} ns/item   fit error ${formatNs(p.fit.rmsNs)} rms (${(p.fit.relativeError * 100).toFixed(1)}%)   ${p.data}`,
      );
    }
  }
  if (host !== null) {
    lines.push(`host elements (this CPU; element cost = pipeline with it - pipeline without it, per source batch; ${host.data})`);
    for (const h of host.costs) {
      lines.push(
        `  ${h.className.padEnd(14)} ${formatNs(h.perBatchNs).padStart(10)}/batch + ${h.perItemNs.toFixed(2).padStart(8)} ns/item   fit error ${formatNs(h.fit.rmsNs)} rms (${(h.fit.relativeError * 100).toFixed(1)}%)   ${h.prefix === '' ? '' : `after ${h.prefix}: `}${h.spec}`,
      );
    }
  }
  if (sides.length > 0) {
    lines.push(`kernel elements' host side (pipeline with the element - without it - its kernel's calibrated time where that runs on this thread, per source batch)`);
    for (const h of sides) {
      lines.push(
        `  ${`${h.className}@${h.backend}`.padEnd(20)} ${formatNs(h.perBatchNs).padStart(10)}/batch + ${h.perItemNs.toFixed(2).padStart(8)} ns/item   fit error ${formatNs(h.fit.rmsNs)} rms (${(h.fit.relativeError * 100).toFixed(1)}%)   ${h.prefix === '' ? '' : `after ${h.prefix}: `}${h.spec}`,
      );
    }
  }
  if (composition !== null) {
    lines.push(
      `graph composition: the all-CPU run ${formatNs(composition.measuredNsPerBatch)}/batch (lower quarter of ${repeats}) vs ${formatNs(composition.predictedNsPerBatch)} predicted from its parts at batch ${composition.batch}: host-thread work x ${composition.factor.toFixed(2)}`,
    );
  }
  if (shares !== null) {
    lines.push(`packet shares of ${shares.config} (${shares.packets} packets): ${Object.entries(shares.shares).map(([n, v]) => `${n} ${(v * 100).toFixed(0)}%`).join(', ')}`);
  }
  for (const s of skipped) lines.push(`skipped ${s}`);
  for (const w of warnings) lines.push(`warning: ${w}`);
  write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * The host element specs to time: `--elements` (`;`-separated) or the defaults, plus each host
 * element (no kernels, not a source) of `--config` with its arguments as written.
 */
function hostElementSpecs(elements: string | undefined, config: string | undefined): string[] {
  const specs = elements === undefined ? [...DEFAULT_HOST_ELEMENTS] : elements.split(';').map((s) => s.trim()).filter((s) => s !== '');
  if (config !== undefined) {
    if (!existsSync(config)) throw new UsageError(`--config: no such file '${config}'`);
    const router = Router.fromFile(config, elementLibrary);
    for (const node of router.graph.nodes) {
      const cls = node.cls;
      if ((cls.declares?.kernels.length ?? 0) > 0 || node.inEdges === 0 || cls.className === 'Discard') continue;
      const args = node.parsed.argText.trim();
      const spec = args === '' ? cls.className : `${cls.className}(${args})`;
      // One spec per class: the planner's host costs are per class.
      const i = specs.findIndex((s) => s.replace(/\(.*$/s, '').trim() === cls.className);
      if (i >= 0) specs[i] = spec;
      else specs.push(spec);
    }
  }
  return specs;
}

/** Batch size of the configuration's timed runs (the planner's default batch). */
const COMPOSITION_BATCH = 256;

/** Factors outside this range say the parts' calibration is off, not a graph effect (warned about, still used). */
const COMPOSITION_RANGE = [0.5, 4] as const;

interface Composition {
  batch: number;
  measuredNsPerBatch: number;
  predictedNsPerBatch: number;
  factor: number;
}

/**
 * The graph-composition factor: the configuration's all-CPU runs (their low quantile, as the
 * parts': load only adds time, core/planner/README.md) over the model's
 * all-CPU prediction from this machine's calibration (its parts timed alone) and the measured
 * shares. Elements in a mixed graph cost more than timed alone (the source refills caches that
 * the rest evicts, more allocation and collection, megamorphic calls; measured: FromDump's own
 * time 1.7x, issue 11); the factor carries that into every placement's host-thread work.
 */
async function compositionOf(config: string, m: MeasuredShares, file: string): Promise<Composition | null> {
  const book = new CostBook();
  const { options } = await calibratedInputs(book, ['cpu'], readCalibrationStore(file).store, config);
  const router = Router.fromFile(config, elementLibrary);
  const problem = buildPlacementProblem({ graph: router.graph, backends: options, book, shares: new Map(Object.entries(m.shares)) });
  const cpu = predict(problem, allCpuPlacement(problem), { batch: m.batch }).stages.find((s) => s.name === 'cpu');
  if (cpu === undefined || cpu.nsPerBatch <= 0 || m.nsPerBatch.length === 0) return null;
  const measuredNsPerBatch = lowQuantile(m.nsPerBatch);
  return { batch: m.batch, measuredNsPerBatch, predictedNsPerBatch: cpu.nsPerBatch, factor: measuredNsPerBatch / cpu.nsPerBatch };
}

/** The kernel elements of `config` that take `BACKEND` (so each backend can be timed), with their own arguments less BACKEND and PLACE. */
function kernelElementSpecs(config: string): { className: string; kernels: readonly string[]; spec: string; file: string }[] {
  if (!existsSync(config)) throw new UsageError(`--config: no such file '${config}'`);
  const router = Router.fromFile(config, elementLibrary);
  const out: { className: string; kernels: readonly string[]; spec: string; file: string }[] = [];
  for (const node of router.graph.nodes) {
    const cls = node.cls;
    const keywords = cls.args?.keywords ?? [];
    if ((cls.declares?.kernels.length ?? 0) === 0 || !keywords.includes('BACKEND')) continue;
    // One spec per class, as for host elements: the host side is kept per class and backend.
    if (out.some((o) => o.className === cls.className)) continue;
    const args = node.parsed.args.list.filter((a) => {
      const k = a.keyword ?? splitKeyword(a.raw, [...keywords, 'PLACE']).keyword;
      return k !== 'BACKEND' && k !== 'PLACE';
    });
    const text = args.map((a) => a.raw.trim()).join(', ');
    out.push({ className: cls.className, kernels: cls.declares?.kernels ?? [], spec: text === '' ? cls.className : `${cls.className}(${text})`, file: path.join(path.dirname(path.resolve(config)), 'host-side-calibration.click') });
  }
  return out;
}

/**
 * Each kernel element on each backend this machine has a calibration of its kernels for (this
 * run's or an earlier one, on the same device), the inline CPU form included. A variant cannot be
 * chosen by BACKEND at run time, so variants are skipped, and said so.
 */
async function kernelSideTargets(specs: readonly { className: string; kernels: readonly string[]; spec: string; file: string }[], file: string, skipped: string[]): Promise<KernelSideTarget[]> {
  if (specs.length === 0) return [];
  const store = readCalibrationStore(file).store;
  const targets: KernelSideTarget[] = [];
  for (const label of Object.keys(store?.devices ?? {})) {
    const [name, variant] = label.split('/');
    if (variant !== undefined) {
      skipped.push(`host side on ${label}: a variant cannot be placed by BACKEND at run time`);
      continue;
    }
    const availability = await backendAvailability(name, undefined);
    if (!availability.available) {
      skipped.push(`host side on ${label}: unavailable: ${availability.reason}`);
      continue;
    }
    const profiles = calibratedProfiles(store, label, availability.device.description);
    if (profiles === undefined) {
      skipped.push(`host side on ${label}: its kernel calibration is of another device (run hetbox calibrate --backends ${name})`);
      continue;
    }
    // Only a kernel that runs on this thread's clock is inside the element's pipeline figure.
    const onThisThread = name === 'cpu' || availability.device.sharesHostCpu === true;
    for (const s of specs) {
      const own = s.kernels.map((k) => profiles.find((p) => p.kernel === k));
      if (own.some((p) => p === undefined)) {
        skipped.push(`host side of ${s.className} on ${label}: not every kernel of it is calibrated there`);
        continue;
      }
      targets.push({
        className: s.className,
        spec: s.spec,
        backend: label,
        device: availability.device.description,
        backendArg: name === 'cpu' ? undefined : name,
        kernelNs: (items) => (onThisThread ? own.reduce((sum, p) => sum + p!.perBatchNs + p!.perItemNs * items, 0) : 0),
        kernelOnHostThread: name === 'cpu',
        file: s.file,
      });
    }
  }
  return targets;
}

export function calibrateCommand(args: string[]): Promise<number> {
  return runCalibrate(args, (t) => process.stdout.write(t));
}
