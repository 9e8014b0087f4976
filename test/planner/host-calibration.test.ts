/**
 * Host element calibration (issue 11): `hetbox calibrate` times host elements on real packets
 * (a shared capture) as pipelines with and without them, stores the fits per machine in the
 * cache dir, and `hetbox plan` charges them instead of the built-in estimate and says which
 * host costs are calibrated and which are still estimated. A costs file's host figures stay
 * first. No timing is asserted: only that the figures are stored, loaded and used.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCalibrationStore } from '../../core/planner/calibration-store.js';
import { BUILT_IN_HOST_COST, CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { runCalibrate } from '../../app/cli/calibrate-command.js';
import { lowQuantile } from '../../core/planner/calibration.js';
import { runPlan } from '../../app/cli/plan-command.js';
import type { PlanReport } from '../../core/planner/explain.js';
import { DATA } from '../elements/helpers.js';

const CAPTURE = path.join(DATA, 'pcaps', 'pcapplusplus', 'example.pcap');

describe('fits under load take the low quantile of the rounds', () => {
  it('load that doubles five rounds of nine doubles the median, not the low quantile', () => {
    // Load only adds time: five rounds hit by a spike read twice as long.
    const rounds = [200, 100, 210, 101, 220, 102, 230, 103, 240];
    // Sorted: 100..103, 200..240; the median (index 4) is 200, the 0.25 quantile (index 2) 102.
    expect(lowQuantile(rounds, 0.5)).toBe(200);
    expect(lowQuantile(rounds)).toBe(102);
    expect(lowQuantile([1, 2, 3, 4, 5])).toBe(2);
    // Between order statistics it interpolates: at 0.25 * 3 = 0.75 of the way from 10 to 20.
    expect(lowQuantile([10, 20, 30, 40])).toBeCloseTo(17.5, 9);
    expect(lowQuantile([7])).toBe(7);
    expect(lowQuantile([])).toBeNaN();
  });
});

describe('CostBook host costs', () => {
  it('a calibrated class replaces the built-in estimate, never a costs file figure', () => {
    const book = new CostBook();
    expect(book.hostCost('Counter')).toEqual(BUILT_IN_HOST_COST);
    book.setCalibratedHost('Counter', { perItemNs: 40, perBatchNs: 900 });
    expect(book.hostCost('Counter')).toEqual({ perItemNs: 40, perBatchNs: 900, source: 'calibrated' });
    expect(book.hostCost('Strip').source).toBe('built-in estimate');
    const fromFile = new CostBook(parseCostsFile(JSON.stringify({ hostElements: { byClass: { Counter: { perItemNs: 5, perBatchNs: 0 } } } }), 'costs.json'));
    fromFile.setCalibratedHost('Counter', { perItemNs: 40, perBatchNs: 900 });
    expect(fromFile.hostCost('Counter')).toEqual({ perItemNs: 5, perBatchNs: 0, source: 'costs file' });
    // A costs file's default models every host element: calibration does not override it either.
    const withDefault = new CostBook(parseCostsFile(JSON.stringify({ hostElements: { default: { perItemNs: 1, perBatchNs: 1 } } }), 'costs.json'));
    withDefault.setCalibratedHost('Strip', { perItemNs: 40, perBatchNs: 900 });
    expect(withDefault.hostCost('Strip').source).toBe('costs file');
  });
});

describe('hetbox calibrate: host elements', () => {
  it('stores host element fits per machine, and plan uses them and says so', async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'hetbox-cache-'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-hostcal-'));
    const config = path.join(dir, 'c.click');
    // Classifier with this config's own patterns comes from --config; Counter from --elements.
    writeFileSync(config, `src :: FromDump(FILE "${CAPTURE}", STOP true) -> n :: Counter -> cls :: Classifier(12/0800, -);\ncls[0] -> Strip(14) -> Discard;\ncls[1] -> Discard;\n`);
    let out = '';
    const status = await runCalibrate(
      ['--backends', '', '--elements', 'Counter', '--config', config, '--batches', '32,128', '--repeats', '1', '--replays', '1', '--capture', CAPTURE, '--json'],
      (t) => (out += t),
      env,
    );
    expect(status).toBe(0);
    const result = JSON.parse(out) as { file: string; calibrated: unknown[]; host: { className: string; spec: string; perItemNs: number; perBatchNs: number; samples: unknown[] }[] };
    expect(result.calibrated).toEqual([]);
    const classes = result.host.map((h) => h.className);
    expect(classes).toEqual(expect.arrayContaining(['FromDump', 'Discard', 'Counter', 'Classifier', 'Strip']));
    expect(result.host.find((h) => h.className === 'Classifier')!.spec).toBe('Classifier(12/0800, -)');
    for (const h of result.host) {
      expect(h.samples).toHaveLength(2);
      for (const v of [h.perItemNs, h.perBatchNs]) expect(Number.isFinite(v) && v >= 0).toBe(true);
    }
    // The source really costs something per batch of real packets: the fit is not the estimate.
    const source = result.host.find((h) => h.className === 'FromDump')!;
    expect(source.perItemNs * 128 + source.perBatchNs).toBeGreaterThan(0);
    expect([source.perItemNs, source.perBatchNs]).not.toEqual([BUILT_IN_HOST_COST.perItemNs, BUILT_IN_HOST_COST.perBatchNs]);

    const stored = readCalibrationStore(result.file).store;
    expect(stored?.host?.costs.map((h) => h.className)).toEqual(classes);
    expect(stored?.host?.data).toBe(CAPTURE);

    const plan = async (e: NodeJS.ProcessEnv): Promise<PlanReport> => {
      let json = '';
      expect(await runPlan([config, '--backends', 'cpu', '--json'], (t) => (json += t), e)).toBe(0);
      return JSON.parse(json) as PlanReport;
    };
    const calibrated = await plan(env);
    const estimated = await plan({ ...process.env, XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'hetbox-empty-')) });
    const sources = (p: PlanReport, name: string): string[] => p.elements.find((e) => e.name === name)!.candidates.flatMap((c) => c.sources);
    expect(sources(calibrated, 'n')).toEqual(['calibrated']);
    expect(sources(calibrated, 'src')).toEqual(['calibrated']);
    expect(sources(estimated, 'n')).toEqual(['built-in estimate']);
    expect(calibrated.chosen.prediction.throughputPps).not.toBe(estimated.chosen.prediction.throughputPps);

    let text = '';
    expect(await runPlan([config, '--backends', 'cpu'], (t) => (text += t), env)).toBe(0);
    expect(text).toMatch(/host element costs calibrated: .*Counter/);
    let guessed = '';
    expect(await runPlan([config, '--backends', 'cpu'], (t) => (guessed += t), { ...process.env, XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'hetbox-empty-')) })).toBe(0);
    expect(guessed).toMatch(/host element costs estimated \(built-in .*\): .*Counter/);
  });
});
