/**
 * Calibration under load (issue 11: host-side fits moved 2-10x between runs on a loaded machine):
 * the host thread's own CPU clock, the load stored with each calibrated part, and the plan's
 * visible warning when a part it uses was calibrated with more work than cores.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calibrationFile, formatLoad, overloaded, readCalibrationStore, saveHostCalibration, type CalibrationLoad } from '../../core/planner/calibration-store.js';
import { lowQuantile } from '../../core/planner/calibration.js';
import { runPlan } from '../../app/cli/plan-command.js';
import { threadCpuAvailable } from '../../app/thread-cpu-clock.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
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
  it('counts the thread\'s work, not a wait for a timer', () => {
    expect(threadCpuAvailable).toBe(true);
    // In a process of its own (the build's clock, so \`npm run build\` comes first, as \`npm test\`
    // does): a vitest worker's thread also serves the runner while a test waits, and under a
    // loaded suite that read 16 ms during a 100 ms wait. Here the thread does nothing else.
    const script = `
      import { readThreadCpu, threadCpuSince } from ${JSON.stringify(path.join(ROOT, 'dist/app/thread-cpu-clock.js'))};
      // Work until the clock shows 20 ms on a CPU (however long the load makes that take).
      const start = readThreadCpu();
      let x = 0;
      while (threadCpuSince(start).onCpuNs < 20e6) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
      const work = threadCpuSince(start).onCpuNs;
      // A 100 ms timer wait is off the CPU.
      const waitFrom = readThreadCpu();
      const wallFrom = performance.now();
      await new Promise((r) => setTimeout(r, 100));
      const wait = threadCpuSince(waitFrom).onCpuNs;
      console.log(JSON.stringify({ x: x > 0, work, wait, waitWallMs: performance.now() - wallFrom }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const seen = JSON.parse(r.stdout) as { x: boolean; work: number; wait: number; waitWallMs: number };
    expect(seen.x).toBe(true);
    expect(seen.work).toBeGreaterThanOrEqual(20e6);
    expect(seen.waitWallMs).toBeGreaterThanOrEqual(99);
    // Far less than the work's 20 ms (a wall clock would read the whole 100 ms).
    expect(seen.wait).toBeLessThan(10e6);
  });
});
