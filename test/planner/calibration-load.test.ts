/**
 * Calibration under load (issue 11: host-side fits moved 2-10x between runs on a loaded machine):
 * the host thread's own CPU clock, the load stored with each calibrated part, and the plan's
 * visible warning when a part it uses was calibrated with more work than cores.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calibrationFile, formatLoad, overloaded, readCalibrationStore, saveHostCalibration, type CalibrationLoad } from '../../core/planner/calibration-store.js';
import { lowQuantile } from '../../core/planner/calibration.js';
import { runPlan } from '../../app/cli/plan-command.js';
import { readThreadCpu, threadCpuAvailable, threadCpuSince } from '../../app/thread-cpu-clock.js';

const busy: CalibrationLoad = { before: 9.1, after: 8.4, cores: 2, clock: 'thread cpu' };
const quiet: CalibrationLoad = { before: 1.2, after: 1.9, cores: 2, clock: 'thread cpu' };

describe('the load of a calibration', () => {
  it('is over the cores when either reading is', () => {
    expect(overloaded(busy)).toBe(true);
    expect(overloaded(quiet)).toBe(false);
    expect(overloaded({ ...quiet, after: 2.1 })).toBe(true);
    expect(formatLoad(busy)).toBe('load 9.1 -> 8.4 on 2 cores, thread cpu clock');
  });

  it('the low quantile ignores rounds a load spike hit', () => {
    // Five interleaved rounds, two hit by load: the lower quarter is 101.
    expect(lowQuantile([100, 480, 102, 101, 530])).toBe(101);
  });

  it('is stored with the part, and the plan warns about a part calibrated under load', async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'hetbox-load-'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const file = calibrationFile(env);
    const fit = { perBatchNs: 100, perItemNs: 5, rmsNs: 0, relativeError: 0 };
    const counter = { className: 'Counter', spec: 'Counter', prefix: '', perItemNs: 5, perBatchNs: 100, fit, samples: [{ batch: 32, ns: 260 }] };
    saveHostCalibration(file, { data: 'test', batches: [32, 64], costs: [counter], load: busy });
    expect(readCalibrationStore(file).store?.host?.load).toEqual(busy);
    const config = path.join(cache, 'counter.click');
    writeFileSync(config, 'Idle -> Counter -> Discard;\n');
    let out = '';
    expect(await runPlan([config, '--backends', 'cpu'], (t) => (out += t), env)).toBe(0);
    expect(out).toContain('warning: calibrated under load (more work than cores; figures may read high, so predictions low): host elements (load 9.1 -> 8.4 on 2 cores, thread cpu clock)');
    // The same calibration at a quiet moment: no warning.
    saveHostCalibration(file, { data: 'test', batches: [32, 64], costs: [counter], load: quiet });
    out = '';
    expect(await runPlan([config, '--backends', 'cpu'], (t) => (out += t), env)).toBe(0);
    expect(out).toContain('host element costs calibrated: Counter');
    expect(out).not.toContain('calibrated under load');
  });
});

describe.runIf(os.platform() === 'linux')('the host thread CPU clock (Linux)', () => {
  it('counts the thread\'s work, not a wait for a timer', async () => {
    expect(threadCpuAvailable).toBe(true);
    // Work until the clock shows 20 ms on a CPU (however long the load makes that take).
    const start = readThreadCpu();
    let x = 0;
    while (threadCpuSince(start)!.onCpuNs < 20e6) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    // A 100 ms timer wait is off the CPU: far less than the work's 20 ms.
    const waitFrom = readThreadCpu();
    await new Promise((r) => setTimeout(r, 100));
    expect(threadCpuSince(waitFrom)!.onCpuNs).toBeLessThan(10e6);
  });
});
