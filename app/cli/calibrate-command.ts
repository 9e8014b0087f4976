/**
 * `hetbox calibrate [--backends LIST] [--batches LIST] [--repeats N] [--routes FILE]
 *                   [--capture FILE] [--json]`:
 * time every registered form of each kernel on each available backend over batch sizes
 * (32 .. 1M by default) on real data (a route table and a capture; by default the shared full
 * table and a shared capture), fit per-batch and per-item cost with the fit's error, and store
 * the profiles per machine and device in the user's cache directory, where `hetbox plan` finds
 * them. The null backend is calibrated only when named (its times are its configured ones).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { backendAvailability, backendNames, backendVariants, disposeBackends, getBackend } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import { calibrateKernel, type CalibratedProfile, type KernelWorkload } from '../../core/planner/calibration.js';
import { calibrationFile, saveCalibration } from '../../core/planner/calibration-store.js';
import { candidateLabel } from '../../core/planner/placement-problem.js';
import { formatNs } from '../../core/planner/search.js';
import { captureTuples, flowHashWorkload, ipLookupWorkload } from '../calibration-workloads.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';

/** 32 .. 1M, every power of 4 (enough points for a line, not hours of runs). */
export const DEFAULT_BATCHES = [32, 128, 512, 2048, 8192, 32768, 131072, 524288, 1048576];

const DEFAULT_ROUTES = 'routes/bart-prefixes-2023.txt.gz';
const DEFAULT_CAPTURE = 'pcaps/pcapplusplus/example.pcap';

/** A file of the shared data beside the project (../shared/data), if it is there. */
function sharedData(rel: string): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
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
    json: { type: 'boolean', default: false },
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

  const capture = captureTuples(dataFile('--capture', values.capture, DEFAULT_CAPTURE));
  const routesFile = dataFile('--routes', values.routes, DEFAULT_ROUTES);
  // Built once, only if some backend has an ip-lookup form to time.
  let lookup: KernelWorkload | null = null;
  const workloadFor = (kernel: string): KernelWorkload | null => {
    if (kernel === 'ip-lookup') return (lookup ??= ipLookupWorkload(routesFile, capture));
    if (kernel === 'flow-hash') return flowHashWorkload(capture);
    return null;
  };

  const file = calibrationFile(env);
  const rows: CalibrationRow[] = [];
  const skipped: string[] = [];
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
        saveCalibration(file, label, availability.device.description, profiles);
        rows.push({ backend: label, device: availability.device.description, profiles });
      }
    }
  } finally {
    await disposeBackends();
  }

  if (values.json) {
    write(`${JSON.stringify({ file, batches, repeats, calibrated: rows, skipped }, null, 2)}\n`);
    return 0;
  }
  const lines = [`calibration (batches ${batches.join(', ')}; median of ${repeats}) stored in ${file}`];
  for (const r of rows) {
    lines.push(`${r.backend} (${r.device})`);
    for (const p of r.profiles) {
      lines.push(
        `  ${p.kernel.padEnd(10)} ${formatNs(p.perBatchNs).padStart(10)}/batch + ${p.perItemNs.toFixed(2).padStart(8)} ns/item   fit error ${formatNs(p.fit.rmsNs)} rms (${(p.fit.relativeError * 100).toFixed(1)}%)   ${p.data}`,
      );
    }
  }
  for (const s of skipped) lines.push(`skipped ${s}`);
  write(`${lines.join('\n')}\n`);
  return 0;
}

export function calibrateCommand(args: string[]): Promise<number> {
  return runCalibrate(args, (t) => process.stdout.write(t));
}
