/**
 * `hetbox calibrate --backends cpu,webgpu,fpga` (the built command) on the real backends here:
 * the CPU, lavapipe WebGPU and the Verilator-simulated FPGA, with three small batch sizes and
 * one repeat so it stays short. Each fitted profile is sane (finite, non-negative, a positive
 * cost per batch at every size timed, the fit's error reported), the store is in the temporary
 * $XDG_CACHE_HOME (never the work tree) under each device's own description, and `hetbox plan`
 * then uses it. No timing is asserted: the machine is shared.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backendAvailability } from '../../core/backend-registry.js';
import { calibratedProfiles, readCalibrationStore } from '../../core/planner/calibration-store.js';
import type { PlanReport } from '../../core/planner/explain.js';
import { requireOrWarn } from '../backends/availability.js';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';
import { DATA } from '../elements/helpers.js';
import { requireBuiltCli, runHetbox } from '../support/hetbox-cli.js';

const ROUTES = path.join(PROJECT_ROOT, 'examples', 'routes.txt');
const CAPTURE = path.join(DATA, 'pcaps', 'pcapplusplus', 'example.pcap');
const BATCHES = [32, 64, 256];

interface Calibrated {
  file: string;
  calibrated: {
    backend: string;
    device: string;
    profiles: { kernel: string; perItemNs: number; perBatchNs: number; fit: { rmsNs: number; relativeError: number }; samples: { batch: number }[] }[];
  }[];
  skipped: string[];
}

describe('hetbox calibrate on cpu, lavapipe WebGPU and the simulated FPGA', () => {
  beforeAll(() => requireBuiltCli());

  it('fits sane profiles with their error, stores them in the cache dir, and plan uses them', async () => {
    const wanted = ['cpu', 'webgpu', 'fpga'];
    const present: string[] = [];
    for (const b of wanted) if (requireOrWarn(b, await backendAvailability(b))) present.push(b);
    const cache = mkdtempSync(path.join(os.tmpdir(), 'hetbox-cache-'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const r = runHetbox(['calibrate', '--backends', wanted.join(','), '--batches', BATCHES.join(','), '--repeats', '1', '--routes', ROUTES, '--capture', CAPTURE, '--json'], { env });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as Calibrated;
    expect(result.file.startsWith(path.join(cache, 'hetbox') + path.sep)).toBe(true);
    expect(result.calibrated.map((c) => c.backend)).toEqual(present);
    const store = readCalibrationStore(result.file);
    expect(store.problem).toBeUndefined();
    for (const c of result.calibrated) {
      // Every backend here has an ip-lookup form; the FPGA has no flow-hash one (yet).
      expect(c.profiles.map((p) => p.kernel)).toContain('ip-lookup');
      for (const p of c.profiles) {
        expect(p.samples.map((s) => s.batch)).toEqual(BATCHES);
        for (const v of [p.perItemNs, p.perBatchNs, p.fit.rmsNs, p.fit.relativeError]) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
        }
        // Some cost at every batch size timed: a fit of all zeros would be no measurement at all.
        for (const b of BATCHES) expect(p.perBatchNs + p.perItemNs * b).toBeGreaterThan(0);
      }
      // Stored under the device's own description: a different card would not reuse it.
      expect(calibratedProfiles(store.store, c.backend, c.device)?.map((p) => p.kernel).sort()).toEqual(c.profiles.map((p) => p.kernel).sort());
    }
    const offload = present.filter((b) => b !== 'cpu');
    if (offload.length === 0) return;
    const plan = runHetbox(['plan', path.join(PROJECT_ROOT, 'examples', 'router.click'), '--backends', offload.join(','), '--json'], { env });
    expect(plan.status).toBe(0);
    const rt = (JSON.parse(plan.stdout) as PlanReport).elements.find((e) => e.name === 'rt')!;
    for (const b of ['cpu', ...offload]) expect(rt.candidates.find((c) => c.backend === b)!.sources).toEqual(['calibrated']);
    // The text form reports each fit's error.
    const text = runHetbox(['calibrate', '--backends', 'cpu', '--batches', '32,64', '--repeats', '1', '--routes', ROUTES, '--capture', CAPTURE], { env });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/ip-lookup .*ns\/item {3}fit error \S+ \S+ rms \(\d+\.\d%\)/);
  }, 120_000);
});
