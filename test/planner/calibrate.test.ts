/**
 * Calibration: the least-squares fit on lines worked out by hand; a smoke run of
 * `hetbox calibrate` on cpu and null with a few small batches on real data (a route file and a
 * shared capture), stored in a temporary cache dir (never the work tree); `hetbox plan` using
 * it; a calibration of another device, or a corrupt file, not used. No timing is asserted on
 * cpu; the null backend's times are its configured ones, so its fit is exact.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitBatchCost } from '../../core/planner/calibration.js';
import { calibratedProfiles, calibrationCacheDir, calibrationFile, readCalibrationStore } from '../../core/planner/calibration-store.js';
import { runCalibrate } from '../../app/cli/calibrate-command.js';
import { runPlan } from '../../app/cli/plan-command.js';
import type { PlanReport } from '../../core/planner/explain.js';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';
import { DATA } from '../elements/helpers.js';

const ROUTES = path.join(PROJECT_ROOT, 'examples', 'routes.txt');
const CAPTURE = path.join(DATA, 'pcaps', 'pcapplusplus', 'example.pcap');

describe('fitBatchCost', () => {
  it('recovers an exact line, and reports the error of a noisy one', () => {
    const exact = fitBatchCost([32, 1024, 65536].map((b) => ({ batch: b, ns: 5000 + 2.5 * b })));
    expect(exact.perBatchNs).toBeCloseTo(5000, 6);
    expect(exact.perItemNs).toBeCloseTo(2.5, 9);
    expect(exact.rmsNs).toBeCloseTo(0, 6);
    // Residuals +10, -10: rms 10 around a mean of 1000.
    const noisy = fitBatchCost([
      { batch: 0, ns: 10 },
      { batch: 0, ns: -10 },
      { batch: 1000, ns: 2010 },
      { batch: 1000, ns: 1990 },
    ]);
    expect(noisy.perItemNs).toBeCloseTo(2, 9);
    expect(noisy.rmsNs).toBeCloseTo(10, 9);
    expect(noisy.relativeError).toBeCloseTo(0.01, 9);
  });

  it('a negative intercept is no launch cost: the line goes through the origin', () => {
    const f = fitBatchCost([
      { batch: 100, ns: 50 },
      { batch: 200, ns: 250 },
    ]);
    expect(f.perBatchNs).toBe(0);
    // Through the origin: b = (100*50 + 200*250) / (100^2 + 200^2) = 55000 / 50000.
    expect(f.perItemNs).toBeCloseTo(1.1, 9);
  });
});

describe('calibration store', () => {
  it('lives in $XDG_CACHE_HOME/hetbox or ~/.cache/hetbox, never relative to the work tree', () => {
    expect(calibrationCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/hetbox');
    expect(calibrationCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/hetbox');
    // A relative XDG_CACHE_HOME is invalid (XDG base directory spec) and ignored.
    expect(calibrationCacheDir({ XDG_CACHE_HOME: 'cache', HOME: '/home/u' })).toBe('/home/u/.cache/hetbox');
  });

  it('a corrupt file is reported and ignored', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-cal-')), 'c.json');
    writeFileSync(file, '{"version": 2}');
    const r = readCalibrationStore(file);
    expect(r.store).toBeNull();
    expect(r.problem).toMatch(/not a calibration .*run hetbox calibrate/);
  });
});

describe('hetbox calibrate (smoke, cpu and null)', () => {
  it('fits every form, stores per machine and device in the cache dir, and plan uses it', async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'hetbox-cache-'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    let out = '';
    const status = await runCalibrate(['--backends', 'cpu,null', '--batches', '32,64,128', '--repeats', '1', '--routes', ROUTES, '--capture', CAPTURE, '--hosts', 'off', '--json'], (t) => {
      out += t;
    }, env);
    expect(status).toBe(0);
    const result = JSON.parse(out) as { file: string; calibrated: { backend: string; device: string; profiles: { kernel: string; perItemNs: number; perBatchNs: number; fit: { rmsNs: number }; samples: unknown[] }[] }[] };
    expect(result.file).toBe(calibrationFile(env));
    expect(result.file.startsWith(path.join(cache, 'hetbox'))).toBe(true);
    expect(result.calibrated.map((r) => r.backend)).toEqual(['cpu', 'null']);
    for (const r of result.calibrated) {
      expect(r.profiles.map((p) => p.kernel).sort()).toEqual(['acl-match', 'flow-hash', 'ip-lookup']);
      for (const p of r.profiles) {
        expect(p.samples).toHaveLength(3);
        for (const v of [p.perItemNs, p.perBatchNs, p.fit.rmsNs]) expect(Number.isFinite(v) && v >= 0).toBe(true);
      }
    }
    // null: 10 us a batch + 1 ns an item + 0.1 ns a byte; ip-lookup moves 12 bytes an item.
    const nullLookup = result.calibrated[1].profiles.find((p) => p.kernel === 'ip-lookup')!;
    expect(nullLookup.perBatchNs).toBeCloseTo(10_000, 3);
    expect(nullLookup.perItemNs).toBeCloseTo(2.2, 6);
    // acl-match is timed over the bundled firewall's rules (the default --acl-rules).
    const cpuAcl = result.calibrated[0].profiles.find((p) => p.kernel === 'acl-match')!;
    expect(cpuAcl.perItemNs).toBeGreaterThan(0);

    const store = readCalibrationStore(result.file).store;
    expect(calibratedProfiles(store, 'null', result.calibrated[1].device)).toHaveLength(3);
    // Another device under the same label: stale, not used.
    expect(calibratedProfiles(store, 'null', 'another card')).toBeUndefined();

    let planned = '';
    const config = path.join(PROJECT_ROOT, 'examples', 'router.click');
    expect(await runPlan([config, '--backends', 'null', '--json'], (t) => (planned += t), env)).toBe(0);
    const rt = (JSON.parse(planned) as PlanReport).elements.find((e) => e.name === 'rt')!;
    for (const c of rt.candidates) expect(c.sources).toEqual(['calibrated']);
  });
});
